"""Kith's admin web pages (bundled plugin ``admin``), served by ``kith run`` at ``/admin/``:
log-in, pipeline board, ticket queue, record pages, dashboards, settings and search."""
