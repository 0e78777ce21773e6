"""fasterapi Python package tests (unittest, standard library only)."""
