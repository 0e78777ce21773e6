"""The package version (also the default serverInfo.version)."""

__version__ = "0.1.0"
