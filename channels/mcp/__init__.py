"""The MCP channel: every Kith command is an MCP tool (streamable HTTP at /mcp, and stdio)."""
