"""The admin pages, one module per area; each exposes ``routes(pages)``."""
