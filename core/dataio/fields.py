"""What each importable entity's columns can be, and how headers are matched to them.

A header matches a field when, folded (lower case, no accents, spaces or punctuation), it
equals the field's name or one of its synonyms: ``E-mail``, ``Email Address`` and
``email_address`` all find ``email``. Custom fields match by key or label as
``custom.<key>``. Every match can be overridden (``--map "Company Name=organization"``) or
switched off (``--map "Notes=-"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from piccolo.table import Table

from ..errors import FieldError, KithError
from ..tables import Contact, Deal, Lead, Organization
from .values import fold


@dataclass(frozen=True)
class FieldSpec:
    """One field a column can fill. ``kind`` says how the cell's text is read."""

    name: str
    kind: str = "text"
    synonyms: tuple[str, ...] = ()
    custom_type: str | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """An entity the importer writes, through its create and update commands."""

    entity: str
    plural: str
    table: type[Table]
    fields: tuple[FieldSpec, ...]
    keys: tuple[str, ...]
    default_key: str | None
    update_only: tuple[str, ...] = ()
    create_only: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def create_command(self) -> str:
        return f"{self.entity}.create"

    @property
    def update_command(self) -> str:
        return f"{self.entity}.update"

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


def F(name: str, kind: str = "text", *synonyms: str) -> FieldSpec:
    return FieldSpec(name, kind, synonyms)


PERSON_NAME = F("name", "text", "full name", "contact name", "contact", "person", "display name")
FIRST = F(
    "first_name", "text", "first name", "firstname", "given name", "first", "prenom", "vorname"
)
LAST = F("last_name", "text", "last name", "lastname", "surname", "family name", "last", "nachname")
EMAIL = F(
    "email",
    "email",
    "e-mail",
    "email address",
    "e-mail address",
    "mail",
    "primary email",
    "work email",
    "courriel",
    "email 1",
)
PHONE = F(
    "phone",
    "text",
    "telephone",
    "tel",
    "phone number",
    "mobile",
    "mobile phone",
    "work phone",
    "cell",
    "telefon",
    "telephone number",
    "phone 1",
)
OWNER = F(
    "owner",
    "text",
    "contact owner",
    "account owner",
    "deal owner",
    "lead owner",
    "assigned to",
    "sales rep",
    "owner email",
    "assignee",
)
EXTERNAL_SYNONYMS = ("external id", "record id", "crm id", "source id")


def external(*more: str) -> FieldSpec:
    """The external id column: generic names plus the entity's own (``Deal ID``)."""
    return F("external_id", "text", *EXTERNAL_SYNONYMS, *more)


KITH_ID = F("id", "int", "kith id")
ORG_REF = F(
    "organization",
    "organization",
    "company",
    "organisation",
    "account",
    "account name",
    "company name",
    "employer",
    "societe",
    "entreprise",
    "firma",
)

CONTACTS = Target(
    entity="contact",
    plural="contacts",
    table=Contact,
    fields=(
        PERSON_NAME,
        FIRST,
        LAST,
        EMAIL,
        F(
            "emails",
            "emails",
            "other emails",
            "secondary emails",
            "secondary email",
            "additional emails",
            "alternate email",
            "email 2",
            "other email",
        ),
        PHONE,
        F("title", "text", "job title", "position", "role", "job", "function", "fonction"),
        ORG_REF,
        OWNER,
        F("lifecycle_stage", "lifecycle", "lifecycle stage", "lifecycle", "stage"),
        external("contact id"),
        KITH_ID,
    ),
    keys=("email", "id", "external", "none"),
    default_key="email",
)

ORGANIZATIONS = Target(
    entity="organization",
    plural="organizations",
    table=Organization,
    fields=(
        F(
            "name",
            "text",
            "company",
            "company name",
            "organization",
            "organisation",
            "account",
            "account name",
            "organization name",
            "organisation name",
        ),
        F(
            "domain",
            "domain",
            "website",
            "web site",
            "url",
            "company domain",
            "domain name",
            "web",
            "site",
            "homepage",
        ),
        F("industry", "text", "sector", "vertical", "branche"),
        F("size", "text", "company size", "employees", "number of employees", "headcount"),
        F("country", "country", "country code", "country/region", "pays", "land"),
        OWNER,
        external("organization id", "company id", "account id"),
        KITH_ID,
    ),
    keys=("domain", "id", "external", "none"),
    default_key="domain",
)

DEALS = Target(
    entity="deal",
    plural="deals",
    table=Deal,
    fields=(
        F(
            "title",
            "text",
            "deal name",
            "deal",
            "name",
            "opportunity",
            "opportunity name",
            "deal title",
        ),
        F("value", "money", "amount", "deal value", "price", "deal amount", "revenue"),
        F("currency", "text", "currency code"),
        F("pipeline", "text"),
        F("stage", "text", "deal stage"),
        OWNER,
        F("contact", "text", "contact email", "person", "primary contact", "contact name"),
        F(
            "organization",
            "organization",
            "company",
            "organisation",
            "account",
            "account name",
            "company name",
        ),
        F(
            "expected_close",
            "date",
            "expected close",
            "close date",
            "expected close date",
            "closing date",
        ),
        external("deal id", "opportunity id"),
        KITH_ID,
    ),
    keys=("id", "external", "none"),
    default_key=None,
    create_only=("pipeline", "stage"),
)

LEADS = Target(
    entity="lead",
    plural="leads",
    table=Lead,
    fields=(
        PERSON_NAME,
        FIRST,
        LAST,
        EMAIL,
        F("company", "text", "company name", "organization", "organisation", "account"),
        PHONE,
        F("source", "text", "lead source", "utm source", "origin", "channel"),
        F("score", "int", "lead score"),
        OWNER,
        external("lead id"),
        KITH_ID,
    ),
    keys=("email", "id", "external", "none"),
    default_key="email",
)

TARGETS: dict[str, Target] = {t.entity: t for t in (CONTACTS, ORGANIZATIONS, DEALS, LEADS)}
for _t in list(TARGETS.values()):
    TARGETS[_t.plural] = _t

CUSTOM_KINDS = {
    "number": "number",
    "money": "money_text",
    "date": "date",
    "bool": "bool",
    "multi-choice": "list",
    "multi_choice": "list",
}


def target_for(entity: str) -> Target:
    target = TARGETS.get(entity.strip().lower())
    if target is None:
        names = ", ".join(t.plural for t in (CONTACTS, ORGANIZATIONS, DEALS, LEADS))
        raise KithError(
            "invalid_input",
            f"entity: cannot import {entity!r}; choose one of {names}",
            [FieldError("entity", f"choose one of {names}")],
        )
    return target


def custom_fields(defs: list[dict[str, Any]]) -> list[FieldSpec]:
    """``custom.<key>`` fields from the entity's custom field definitions."""
    out = []
    for d in defs:
        kind = CUSTOM_KINDS.get(str(d.get("type")), "text")
        options = tuple(str(o) for o in (d.get("options") or []))
        out.append(
            FieldSpec(
                f"custom.{d['key']}",
                kind,
                (str(d["key"]), str(d.get("label") or d["key"])),
                custom_type=str(d.get("type")),
                options=options,
            )
        )
    return out


def auto_map(
    header: list[str],
    target: Target,
    extra_fields: list[FieldSpec],
    overrides: dict[str, str],
) -> tuple[dict[int, FieldSpec], list[str]]:
    """Column index → field, and notes for the person (what was ignored and why)."""
    fields = [*target.fields, *extra_fields]
    by_name = {f.name: f for f in fields}
    lookup: dict[str, FieldSpec] = {}
    for f in fields:
        for word in (f.name, *f.synonyms):
            lookup.setdefault(fold(word), f)
    folded = {fold(h): i for i, h in enumerate(header)}
    notes: list[str] = []
    mapping: dict[int, FieldSpec] = {}
    overridden: set[int] = set()
    for column, name in overrides.items():
        index = folded.get(fold(column))
        if index is None:
            raise KithError(
                "invalid_input",
                f"map: the file has no column {column!r} (columns: {', '.join(header)})",
                [FieldError(f"map.{column}", "no such column in the file", "unknown_column")],
            )
        overridden.add(index)
        name = name.strip()
        if name in ("", "-"):
            continue
        if name.startswith("custom.") and name not in by_name:
            spec = FieldSpec(name, "text")
        else:
            spec = by_name.get(name)
        if spec is None:
            known = ", ".join(f.name for f in fields)
            raise KithError(
                "invalid_input",
                f"map: {name!r} is not a {target.entity} field (fields: {known})",
                [FieldError(f"map.{column}", f"unknown field {name!r}", "unknown_field")],
            )
        mapping[index] = spec
    taken = {spec.name for spec in mapping.values()}
    for i, column in enumerate(header):
        if i in overridden:
            continue
        spec = lookup.get(fold(column))
        if spec is None:
            notes.append(f"column {column!r} matches no {target.entity} field: ignored")
            continue
        if spec.name in taken:
            notes.append(f"column {column!r} would also fill {spec.name}: ignored")
            continue
        mapping[i] = spec
        taken.add(spec.name)
    return mapping, notes
