"""Outgoing webhooks: other systems subscribe to Kith's events (bundled plugin ``webhooks``).

A subscription names a URL, the events it wants (names or patterns such as ``deal.*``) and a
secret. Each matching event becomes a *delivery*: a job that POSTs the event as JSON, signed
with HMAC-SHA256 over ``<timestamp>.<body>``, through the SSRF guard of :mod:`kith.net`,
retried with backoff, logged, and resendable. A subscription that keeps failing is disabled
and says so with a ``webhook.disabled`` event. See ``docs/webhooks.md``.
"""
