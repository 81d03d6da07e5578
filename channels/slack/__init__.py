"""The Slack channel: ``/kith`` verbs, buttons and notifications through slack-bolt.

Registered like a plugin (the bundled channel ``slack``, module
:mod:`kith.channels.slack.plugin`); it mounts ``POST /slack/events`` through the
``kith_routes`` hook, where bolt checks every request's signature and timestamp. A line typed
after ``/kith`` is parsed by the shared verb grammar (:mod:`kith.verbs`) into one command,
run as the Kith user linked to the Slack user, with their role. See ``docs/slack.md``.
"""
