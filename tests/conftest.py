"""Kith's own tests use the same fixtures plugin authors get from ``kith.testing``."""
