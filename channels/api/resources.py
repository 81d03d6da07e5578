"""Which HTTP operations exist: derived from the command registry, for core and plugins alike.

An entity is a resource when the registry has ``<entity>.get`` or ``<entity>.list``; its
commands become routes under ``/api/v1/<plural>`` (``custom_field`` → ``custom-fields``):

=========  =================================  ===========================================
method     path                               command
=========  =================================  ===========================================
GET        /contacts                          contact.list (q, filter[…], sort, cursor, limit)
POST       /contacts                          contact.create (or .log, .define)
POST       /contacts/batch                    contact.create / contact.update, ≤ 100 records
GET        /contacts/{ref}                    contact.get
PATCH      /contacts/{ref}                    contact.update
DELETE     /contacts/{ref}                    contact.archive (soft delete)
POST       /contacts/{ref}/archive            contact.archive
POST       /contacts/{ref}/restore            contact.restore
GET        /contacts/{ref}/timeline           contact.timeline (cursor, limit)
POST       /deals/{ref}/move                  deal.move — any other command of the entity
                                              whose input names the record (``deal``)
POST       /commands/{name}                   any command (GET too for read-only ones)
=========  =================================  ===========================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kith import CommandSpec, Kith

PREFIX = "/api/v1"
STANDARD_VERBS = ("list", "get", "update", "archive", "restore", "timeline")
# the command that creates a record, in order of preference (activity.log, custom_field.define)
CREATE_VERBS = ("create", "log", "define")
RESERVED_SEGMENTS = frozenset({"batch", "archive", "restore", "timeline", "commands"})
RESERVED_PATHS = frozenset({"commands", "docs", "openapi.json"})


def plural(entity: str) -> str:
    """``contact`` → ``contacts``, ``activity`` → ``activities``, ``custom_field`` →
    ``custom-fields``."""
    word = entity.replace("_", "-")
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


@dataclass
class Resource:
    entity: str
    path: str
    commands: dict[str, CommandSpec] = field(default_factory=dict)
    create: CommandSpec | None = None
    actions: dict[str, CommandSpec] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"{PREFIX}/{self.path}"


def _names_record(spec: CommandSpec, entity: str) -> bool:
    f = spec.input.model_fields.get(entity)
    return f is not None and f.is_required()


def discover(kith: Kith) -> list[Resource]:
    """The resources of this Kith's registry, sorted by path."""
    by_entity: dict[str, dict[str, CommandSpec]] = {}
    for spec in kith.registry:
        entity, _, verb = spec.name.rpartition(".")
        if entity and "." not in entity and re.fullmatch(r"[a-z][a-z0-9_]*", entity):
            by_entity.setdefault(entity, {})[verb] = spec
    resources: list[Resource] = []
    for entity, verbs in by_entity.items():
        if ("get" not in verbs and "list" not in verbs) or plural(entity) in RESERVED_PATHS:
            continue
        res = Resource(entity=entity, path=plural(entity))
        for verb in STANDARD_VERBS:
            if verb in verbs and (verb == "list" or _names_record(verbs[verb], entity)):
                res.commands[verb] = verbs[verb]
        res.create = next((verbs[v] for v in CREATE_VERBS if v in verbs), None)
        for verb, spec in verbs.items():
            if (
                verb in STANDARD_VERBS
                or spec is res.create
                or verb in RESERVED_SEGMENTS
                or not re.fullmatch(r"[a-z][a-z0-9_]*", verb)
            ):
                continue
            if _names_record(spec, entity):
                res.actions[verb.replace("_", "-")] = spec
        resources.append(res)
    return sorted(resources, key=lambda r: r.path)
