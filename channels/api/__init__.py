"""The REST API channel: every entity and every command over HTTP, under ``/api/v1``.

It is registered like a plugin (the bundled plugin ``api``, module
:mod:`kith.channels.api.plugin`) and mounts its routes through the ``kith_routes`` hook. Every
route turns an HTTP request into one command run, ``kith.run(name, payload, actor)``, and
the result or the error back into JSON: the channel never touches a table. Resource routes
are generated from the command registry (``<entity>.list|get|create|update|archive|restore|
timeline``), so plugins' entities get routes too; ``POST /api/v1/commands/{name}`` runs any
command. See ``docs/api.md``.
"""
