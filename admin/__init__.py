"""Admin web pages."""
