"""Bundled plugins: the sales, marketing and service pillars arrive here with their issues."""
