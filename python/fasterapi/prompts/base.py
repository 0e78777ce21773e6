"""`fasterapi.prompts.base`: the names of the python-sdk's `mcp.server.fastmcp.prompts.base`
(Message, UserMessage, AssistantMessage, Prompt, PromptArgument), so porting
`from mcp.server.fastmcp.prompts.base import UserMessage` is an import swap."""

from . import AssistantMessage, Message, Prompt, PromptArgument, UserMessage

__all__ = ["Message", "UserMessage", "AssistantMessage", "Prompt", "PromptArgument"]
