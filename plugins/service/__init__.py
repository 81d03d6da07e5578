"""The service plugin: tickets, assignment, SLAs in business hours, escalation, macros, CSAT.

A bundled plugin that uses only Kith's public API, exactly as a third-party plugin would.
See ``docs/plugins/service.md``.
"""
