"""Channels: Slack, email, REST API and MCP adapters onto Kith commands."""
