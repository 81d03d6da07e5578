"""Kith."""
