"""Kith's sales pillar, a bundled plugin built only on kith's public API.

Pipelines and stages, deal moves with won/lost reasons, lead capture with dedupe, routing,
qualification and conversion, follow-ups through scheduled jobs, and the forecast.
See ``docs/plugins/sales.md``. The hook implementations live in :mod:`.plugin`.
"""
