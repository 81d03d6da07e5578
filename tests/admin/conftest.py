"""Fixtures shared by the admin tests (defined with the page tests)."""

from test_admin_pages import pipeline, user_with_password, web  # noqa: F401 - fixtures
