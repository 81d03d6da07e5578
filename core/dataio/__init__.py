"""Data in, out, clean and safe: CSV import, export, duplicates, merge, backup and restore.

Every piece is a core feature reachable as commands (so the API, MCP, Slack and the CLI get
it); :mod:`kith.dataio.plugin` registers them like any plugin would. See docs/data-io.md.
"""
