"""kith-renewals: an example vertical plugin for Kith (SaaS renewals)."""
