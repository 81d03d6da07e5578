"""One CSV row → one create or update command, with the same validation and history.

:class:`RowWriter` reads a row's cells into field values (dates, money, countries…), finds the
record the row's key names (prefetched for the whole batch in one query), and runs the
entity's own ``<entity>.create`` or ``<entity>.update`` command as a nested command of the
batch. What it cannot take becomes an :class:`Outcome` with the field, the column and the
reason; what a command refuses is reported with the command's own message.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..db.statements import quote
from ..entities._common import _email
from ..entities.people import normalise_domain
from ..errors import KithError
from ..tables import ContactEmail, ExternalId, Lead, Organization
from .fields import FieldSpec
from .values import (
    parse_bool,
    parse_country,
    parse_date,
    parse_int,
    parse_money,
    parse_number,
    split_list,
)

if TYPE_CHECKING:
    from ..context import Context
    from .plan import ImportPlan

LIFECYCLE = {
    "subscriber": "subscriber",
    "lead": "lead",
    "mql": "mql",
    "marketingqualifiedlead": "mql",
    "sql": "sql",
    "salesqualifiedlead": "sql",
    "opportunity": "opportunity",
    "customer": "customer",
    "evangelist": "evangelist",
    "other": "other",
}
AMBIGUOUS = -1
# Plain ASCII addresses are only lower-cased (what the full validator's normalisation gives
# them too); anything else goes through it. The command validates every address it stores.
PLAIN_EMAIL = re.compile(
    r"^[a-z0-9_%+'-]+(?:\.[a-z0-9_%+'-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


def email_key(text: str) -> str:
    """The address as Kith stores it (lower case, normalised)."""
    s = text.strip().lower()
    if len(s) <= 254 and len(s.partition("@")[0]) <= 64 and PLAIN_EMAIL.match(s):
        return s
    return _email(text)


class RowError(Exception):
    """A cell the importer cannot read (no command ran)."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


@dataclass
class Outcome:
    """What happened to one row: created, updated, skipped or rejected, and why."""

    row: int
    action: str
    record_id: int | None = None
    reason: str = ""
    field: str = ""
    column: str | None = None
    values: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "action": self.action}
        if self.record_id is not None:
            out["record"] = self.record_id
        if self.reason:
            out["reason"] = self.reason
        if self.field:
            out["field"] = self.field
        if self.column:
            out["column"] = self.column
        return out


@dataclass
class ParsedRow:
    row: int
    cells: list[str]
    values: dict[str, Any]
    key: Any = None


def _fold_lifecycle(text: str) -> str:
    folded = re.sub(r"[^a-z]", "", text.lower())
    if folded not in LIFECYCLE:
        raise ValueError(
            f"{text!r} is not a lifecycle stage ({', '.join(sorted(set(LIFECYCLE.values())))})"
        )
    return LIFECYCLE[folded]


class RowWriter:
    """Turns rows into commands for one import (one per batch runner)."""

    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan
        self.target = plan.target
        self.columns = plan.columns
        self.organizations: dict[str, int] = {}
        self.current: dict[int, dict[str, Any]] = {}

    # ---- reading cells -------------------------------------------------------------------------
    def _read(self, spec: FieldSpec, text: str, values: dict[str, Any]) -> Any:
        kind = spec.kind
        if kind in ("text", "organization"):
            return text
        if kind == "email":
            addresses = split_list(text)
            values.setdefault("_more_emails", []).extend(email_key(a) for a in addresses[1:])
            return email_key(addresses[0])
        if kind == "emails":
            return [email_key(a) for a in split_list(text)]
        if kind == "date":
            return parse_date(text, self.plan.date_order)
        if kind == "money":
            amount, currency = parse_money(text, self.plan.currency)
            if currency:
                values.setdefault("_currency", currency)
            return amount
        if kind == "money_text":
            return text
        if kind == "int":
            return parse_int(text)
        if kind == "number":
            return parse_number(text)
        if kind == "bool":
            return parse_bool(text)
        if kind == "list":
            return split_list(text)
        if kind == "country":
            return parse_country(text)
        if kind == "domain":
            return normalise_domain(text)
        if kind == "lifecycle":
            return _fold_lifecycle(text)
        return text

    def parse(self, row_number: int, cells: list[str]) -> ParsedRow | Outcome:
        header = self.plan.info.header
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            return Outcome(
                row_number,
                "rejected",
                field="row",
                reason=f"has {len(cells)} values but the header has {len(header)} columns",
                values=cells,
            )
        values: dict[str, Any] = {}
        for index, spec in self.plan.mapping.items():
            text = cells[index].strip() if index < len(cells) else ""
            if not text:
                continue
            try:
                values[spec.name] = self._read(spec, text, values)
            except ValueError as exc:
                return Outcome(
                    row_number,
                    "rejected",
                    field=spec.name,
                    column=header[index],
                    reason=str(exc),
                    values=cells,
                )
        if not any(not k.startswith("_") for k in values):
            return Outcome(row_number, "skipped", reason="empty row", values=cells)
        self._complete_name(values)
        key = values.get(
            {"email": "email", "domain": "domain", "id": "id"}.get(self.plan.key, "external_id")
        )
        return ParsedRow(row_number, cells, values, key if self.plan.key != "none" else None)

    def _complete_name(self, values: dict[str, Any]) -> None:
        if self.target.entity not in ("contact", "lead") or values.get("name"):
            return
        parts = [values.get("first_name"), values.get("last_name")]
        name = " ".join(str(p) for p in parts if p)
        if not name and values.get("email"):
            local = str(values["email"]).split("@")[0]
            name = " ".join(w.capitalize() for w in re.split(r"[._+-]+", local) if w)
        if name:
            values["name"] = name

    # ---- finding existing records --------------------------------------------------------------
    async def prefetch(self, ctx: Context, rows: list[ParsedRow]) -> dict[Any, int]:
        """Key value → record id for the batch's keys, in one query."""
        key = self.plan.key
        keys = list({r.key for r in rows if r.key is not None})
        if key == "id":
            keys = [k for k in keys if 0 < k < 2**31]  # larger ones name no record
        self.current = {}
        if not keys:
            return {}
        st = ctx.kith.db.statements
        entity = self.target.entity
        if key == "external":
            first = st.placeholders(2)
            marks = ", ".join(st.placeholders(len(keys), start=3))
            sql = (
                f'SELECT "external_id" AS k, "record_id" AS id FROM "external_ids" '  # noqa: S608
                f'WHERE "entity" = {first[0]} AND "system" = {first[1]} '
                f'AND "external_id" IN ({marks})'
            )
            found = await ctx.fetch(sql, [entity, self.plan.system, *keys])
        elif key == "email" and entity == "contact":
            marks = ", ".join(st.placeholders(len(keys)))
            table = quote(ContactEmail._meta.tablename)
            sql = f'SELECT "email" AS k, "contact_id" AS id FROM {table} WHERE "email" IN ({marks})'  # noqa: S608
            found = await ctx.fetch(sql, keys)
        else:
            column = {"email": "email", "domain": "domain", "id": "id"}[key]
            table = {"lead": Lead, "organization": Organization}.get(entity, self.target.table)
            marks = ", ".join(st.placeholders(len(keys)))
            sql = (
                f'SELECT {quote(column)} AS k, "id" FROM {quote(table._meta.tablename)} '  # noqa: S608
                f"WHERE {quote(column)} IN ({marks})"
            )
            if key == "email":
                sql += ' AND "archived_at" IS NULL'
            found = await ctx.fetch(sql, keys)
        out: dict[Any, int] = {}
        for r in found:
            out[r["k"]] = AMBIGUOUS if r["k"] in out else r["id"]
        ids = sorted({i for i in out.values() if i != AMBIGUOUS})
        if ids:
            table = self.target.table
            codec = st.codec(table)
            marks = ", ".join(st.placeholders(len(ids)))
            sql = f'SELECT * FROM {quote(table._meta.tablename)} WHERE "id" IN ({marks})'  # noqa: S608
            self.current = {r["id"]: codec.decode(r) for r in await ctx.fetch(sql, ids)}
        return out

    def unchanged(self, payload: dict[str, Any], record_id: int) -> bool:
        """Whether an update ``payload`` would change nothing of the record as prefetched
        (only plain columns, resolved links and custom values are compared; anything else,
        an owner's name for one, lets the command decide)."""
        row = self.current.get(record_id)
        if row is None or row.get("archived_at") is not None:
            return False
        columns = {c._meta.db_column_name for c in self.target.table._meta.columns}
        for key, value in payload.items():
            if key == self.target.entity:
                continue
            if key == "custom":
                custom = row.get("custom") or {}
                if any(custom.get(k) != v for k, v in value.items()):
                    return False
                continue
            column = f"{key}_id" if key in ("organization", "contact") else key
            if key == "owner" or column not in columns or column not in row:
                return False
            if column.endswith("_id") and not isinstance(value, int):
                return False
            if row[column] != value:
                return False
        return True

    async def organization_id(self, ctx: Context, text: str) -> tuple[int, str | None]:
        """An organization by domain or exact name; created when missing (if allowed)."""
        cache_key = text.strip().lower()
        if cache_key in self.organizations:
            return self.organizations[cache_key], None
        domain = None
        if "." in text and " " not in text.strip():
            try:
                domain = normalise_domain(text)
            except ValueError:
                domain = None
        rows: list[dict[str, Any]] = []
        if domain:
            rows = await ctx.select(Organization, domain=domain)
        if not rows:
            rows = await ctx.select(Organization, name=text.strip())
        if not rows:
            mark = ctx.kith.db.statements.placeholders(1)[0]
            rows = await ctx.fetch(
                f'SELECT "id", "archived_at" FROM "organizations" WHERE lower("name") = {mark}',  # noqa: S608
                [cache_key],
            )
        active = [r for r in rows if r["archived_at"] is None]
        note = None
        if len(active) > 1:
            ids = ", ".join(f"#{r['id']}" for r in active[:5])
            raise RowError("organization", f"{text!r} matches several organizations ({ids})")
        if active:
            org_id = int(active[0]["id"])
        elif not self.plan.create_organizations:
            raise RowError("organization", f"no organization matches {text!r}")
        else:
            payload: dict[str, Any] = {"name": text.strip()}
            if domain:
                payload["domain"] = domain
            org = await ctx.run("organization.create", payload)
            org_id = org.id
            note = f"new organization {text.strip()} (#{org_id})"
        self.organizations[cache_key] = org_id
        return org_id, note

    # ---- commands ------------------------------------------------------------------------------
    async def payload(
        self, ctx: Context, values: dict[str, Any], existing: int | None
    ) -> tuple[dict[str, Any], list[str]]:
        """The create (``existing`` None) or update command's input for these values."""
        entity = self.target.entity
        command = self.target.create_command if existing is None else self.target.update_command
        allowed = ctx.kith.registry.get(command).input.model_fields
        notes: list[str] = []
        payload: dict[str, Any] = {} if existing is None else {entity: existing}
        custom: dict[str, Any] = {}
        for name, value in values.items():
            if name.startswith("custom."):
                custom[name.removeprefix("custom.")] = value
            elif name == "organization" and entity in ("contact", "deal"):
                payload["organization"], note = await self.organization_id(ctx, value)
                if note:
                    notes.append(note)
            elif name in allowed and name not in ("id", entity):
                if existing is not None and name in self.target.create_only:
                    continue
                payload[name] = value
        if custom:
            payload["custom"] = custom
        if "value" in payload and "currency" not in payload:
            currency = values.get("_currency") or self.plan.currency
            if currency:
                payload["currency"] = currency
        if entity == "contact":
            more = [*values.get("_more_emails", []), *values.get("emails", [])]
            if existing is None:
                payload["emails"] = [a for a in more if a != values.get("email")]
                if not payload["emails"]:
                    del payload["emails"]
            else:
                payload.pop("email", None)
                payload.pop("emails", None)
                added = [a for a in [values.get("email"), *more] if a]
                if self.plan.key == "email" and added == [values.get("email")]:
                    added = []  # the address the row was matched on: the contact has it
                if added:
                    payload["add_emails"] = list(dict.fromkeys(added))
        return payload, notes

    async def link_external_id(self, ctx: Context, values: dict[str, Any], record_id: int) -> str:
        """Remember the row's external id for the record (unless it names another one)."""
        external = values.get("external_id")
        if not external:
            return ""
        hit = await ctx.find_one(
            ExternalId, entity=self.target.entity, system=self.plan.system, external_id=external
        )
        if hit is None:
            await ctx.insert(
                ExternalId,
                {
                    "entity": self.target.entity,
                    "system": self.plan.system,
                    "external_id": str(external),
                    "record_id": record_id,
                },
                record_history=False,
            )
        elif hit["record_id"] != record_id:
            return f"external id {external} belongs to {self.target.entity} #{hit['record_id']}"
        return ""

    def column_for(self, field_name: str) -> str | None:
        base = field_name.split(".")[0]
        if base in ("add_emails", "emails") and "emails" not in self.columns:
            base = "email"
        if base == "custom":
            return self.columns.get(field_name)
        return self.columns.get(base)

    def rejected(self, parsed: ParsedRow, err: KithError | RowError) -> Outcome:
        if isinstance(err, RowError):
            name, reason = err.field, err.reason
        elif err.fields:
            name = err.fields[0].field
            reason = "; ".join(
                f.message if f.field == name else f"{f.field}: {f.message}" for f in err.fields
            )
        else:
            name, reason = "row", err.message
        return Outcome(
            parsed.row,
            "rejected",
            field=name,
            column=self.column_for(name),
            reason=reason,
            values=parsed.cells,
        )
