"""Before the first row: how to read the file, which column fills which field, which key.

An :class:`ImportPlan` is everything an import needs besides the rows. It is built once from
the file (:func:`plan_import`) and stored with the run, so a resumed import reads the rest of
the file exactly as it read the beginning (:meth:`ImportPlan.from_run`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FieldError, KithError
from ..money import check_currency
from .csvfile import CsvInfo, RecordReader, inspect_csv
from .fields import FieldSpec, Target, auto_map, custom_fields, target_for
from .values import ambiguous_date_order

if TYPE_CHECKING:
    from ..runtime import Kith

KEY_COLUMNS = {"email": "email", "domain": "domain", "id": "id", "external": "external_id"}
DATE_SAMPLE_ROWS = 2000


@dataclass
class ImportOptions:
    """How a person asked for the file to be imported (all optional)."""

    mapping: dict[str, str] = field(default_factory=dict)
    key: str | None = None
    system: str | None = None
    mode: str = "upsert"
    date_order: str | None = None
    currency: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    create_organizations: bool = True


@dataclass
class ImportPlan:
    target: Target
    info: CsvInfo
    mapping: dict[int, FieldSpec]
    key: str
    system: str
    mode: str
    date_order: str
    currency: str | None
    create_organizations: bool
    notes: list[str] = field(default_factory=list)
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.info.path.name

    @property
    def columns(self) -> dict[str, str]:
        """Field name → the column that fills it."""
        return {spec.name: self.info.header[i] for i, spec in self.mapping.items()}

    @property
    def key_column(self) -> int | None:
        wanted = KEY_COLUMNS.get(self.key)
        return next((i for i, s in self.mapping.items() if s.name == wanted), None)

    def options(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "system": self.system,
            "mode": self.mode,
            "date_order": self.date_order,
            "currency": self.currency,
            "create_organizations": self.create_organizations,
            "bom": self.info.bom,
            "data_offset": self.info.data_offset,
            "notes": self.notes,
        }

    def describe(self) -> dict[str, Any]:
        """What a person sees before the import runs."""
        mapped = set(self.mapping)
        return {
            "entity": self.target.plural,
            "file": self.name,
            "encoding": self.info.encoding_label,
            "delimiter": {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(
                self.info.delimiter, self.info.delimiter
            ),
            "mapping": {self.info.header[i]: s.name for i, s in sorted(self.mapping.items())},
            "ignored": [h for i, h in enumerate(self.info.header) if i not in mapped],
            "key": self.key if self.key != "external" else f"external:{self.system}",
            "mode": self.mode,
            "date_order": self.date_order,
            "notes": self.notes,
        }

    @classmethod
    def from_run(cls, run: dict[str, Any], defs: list[dict[str, Any]]) -> ImportPlan:
        target = target_for(run["entity"])
        opts = run["options"]
        info = CsvInfo(
            path=Path(run["path"]),
            size=run["file_size"],
            sha256=run["file_sha256"],
            encoding=run["encoding"],
            delimiter=run["delimiter"],
            header=list(run["header"]),
            data_offset=int(opts.get("data_offset", 0)),
            bom=bool(opts.get("bom")),
        )
        specs = {f.name: f for f in [*target.fields, *custom_fields(defs)]}
        mapping = {
            int(i): specs.get(name) or FieldSpec(name, "text") for i, name in run["mapping"].items()
        }
        return cls(
            target=target,
            info=info,
            mapping=mapping,
            key=opts["key"],
            system=opts["system"],
            mode=opts["mode"],
            date_order=opts["date_order"],
            currency=opts.get("currency"),
            create_organizations=bool(opts.get("create_organizations", True)),
            notes=list(opts.get("notes", [])),
            name=run["file_name"],
        )


async def custom_defs(kith: Kith, entity: str) -> list[dict[str, Any]]:
    """The entity's active custom field definitions, in their order."""
    from ..tables import CustomFieldDef

    st = kith.db.statements
    codec = st.codec(CustomFieldDef)
    rows = await kith.db.fetch(st.select_where(CustomFieldDef, ["entity"], "position"), [entity])
    return [codec.decode(r) for r in rows if r["archived_at"] is None]


def _choose_key(target: Target, mapping: dict[int, FieldSpec], opts: ImportOptions) -> str:
    mapped = {s.name for s in mapping.values()}
    key = (opts.key or "").strip().lower()
    if key.startswith("external:"):
        key = "external"
    if not key:
        key = "external" if "external_id" in mapped else (target.default_key or "none")
    if key not in target.keys:
        choices = ", ".join(target.keys)
        raise KithError(
            "invalid_input",
            f"key: {target.plural} can be matched on {choices}, not {opts.key!r}",
            [FieldError("key", f"choose one of {choices}")],
        )
    return key


def _check_key_column(plan: ImportPlan) -> None:
    if plan.key == "none" or plan.key_column is not None:
        return
    wanted = KEY_COLUMNS[plan.key]
    message = (
        f"{plan.info.path.name} has no {wanted} column, and {plan.target.plural} are matched "
        f"on {wanted} (columns: {', '.join(plan.info.header)}). Map one "
        f"(--map 'Column={wanted}'), choose another key, or use key 'none' to always create."
    )
    raise KithError("missing_key_column", message, [FieldError("key", message, "missing_column")])


def _sample_date_order(plan: ImportPlan) -> tuple[str, str | None]:
    columns = [i for i, s in plan.mapping.items() if s.kind == "date"]
    if not columns:
        return "dmy", None
    seen = {"dmy": 0, "mdy": 0, "either": 0}
    with RecordReader(
        plan.info.path, plan.info.encoding, plan.info.delimiter, plan.info.data_offset
    ) as reader:
        for n, record in enumerate(reader):
            if n >= DATE_SAMPLE_ROWS:
                break
            for i in columns:
                if i < len(record):
                    order = ambiguous_date_order(record[i])
                    if order:
                        seen[order] += 1
    if seen["mdy"] > seen["dmy"]:
        return "mdy", "dates read month first (e.g. 03/13/2026)"
    if seen["dmy"]:
        return "dmy", "dates read day first (e.g. 13/03/2026)"
    if seen["either"]:
        return "dmy", (
            "dates like 04/03/2026 read day first (4 March); give date_order mdy if they are "
            "month first"
        )
    return "dmy", None


async def plan_import(kith: Kith, entity: str, path: Path, opts: ImportOptions) -> ImportPlan:
    """Check the file and work out how to import it; raise a clear error when it cannot."""
    target = target_for(entity)
    if opts.mode not in ("upsert", "create", "update"):
        raise KithError(
            "invalid_input",
            "mode: choose upsert, create or update",
            [FieldError("mode", "choose upsert, create or update")],
        )
    if opts.date_order not in (None, "dmy", "mdy"):
        raise KithError(
            "invalid_input",
            "date_order: choose dmy or mdy",
            [FieldError("date_order", "choose dmy or mdy")],
        )
    currency = check_currency(opts.currency) if opts.currency else None
    info = await asyncio.to_thread(
        inspect_csv,
        path,
        max_bytes=kith.settings.import_max_bytes,
        work_dir=Path(kith.settings.import_dir),
        encoding=opts.encoding,
        delimiter=opts.delimiter,
    )
    defs = await custom_defs(kith, target.entity)
    mapping, notes = auto_map(info.header, target, custom_fields(defs), opts.mapping)
    if not mapping:
        message = (
            f"none of the columns of {path.name} ({', '.join(info.header)}) matches a "
            f"{target.entity} field; is it the right file, and is it comma, semicolon or tab "
            "separated?"
        )
        raise KithError("not_csv", message, [FieldError("file", message, "no_columns")])
    key = _choose_key(target, mapping, opts)
    system = (opts.system or (opts.key or "").partition(":")[2] or "import").strip().lower()
    plan = ImportPlan(
        target=target,
        info=info,
        mapping=mapping,
        key=key,
        system=system[:50],
        mode=opts.mode,
        date_order=opts.date_order or "dmy",
        currency=currency,
        create_organizations=opts.create_organizations,
        notes=[*info.notes, *notes],
    )
    _check_key_column(plan)
    if opts.date_order is None:
        plan.date_order, note = await asyncio.to_thread(_sample_date_order, plan)
        if note:
            plan.notes.append(note)
    if key == "id" and "external_id" in plan.columns:
        plan.notes.append("records are matched on their Kith id; external ids are recorded")
    return plan
