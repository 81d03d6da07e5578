"""The marketing pillar (bundled plugin ``marketing``): web forms that capture people and
their consent, double opt-in, one-click unsubscribe, a consent gate on every marketing
email, and a person's data on request. See ``docs/plugins/marketing.md``."""
