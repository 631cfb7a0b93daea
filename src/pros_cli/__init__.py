"""pros: operator CLI for Azure OpenAI behind a multi-region API Management gateway."""

__version__ = "0.1.0"
TOOL_NAME = "pros"
