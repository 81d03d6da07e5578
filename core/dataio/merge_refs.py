"""What points at a record: the references a merge moves from the loser to the survivor."""

from __future__ import annotations

from dataclasses import dataclass

from piccolo.table import Table

from ..hookspecs import hookimpl
from ..tables import (
    Activity,
    Contact,
    Deal,
    ExternalId,
    Lead,
    RecordTag,
    Task,
    Ticket,
)


@dataclass(frozen=True)
class MergeReference:
    """A column of ``table`` that holds the id of a record being merged.

    ``entity_column``: for a column that can point at several kinds of record, the column
    that says which kind (only rows where it equals the entity move). ``unique_with``: the
    other columns of a unique key that includes ``column``; a row whose twin already points
    at the survivor stays with the loser instead of breaking the key.
    """

    table: type[Table]
    column: str
    entity_column: str | None = None
    unique_with: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        meta = self.table._meta
        known = {c._meta.db_column_name for c in meta.columns}
        for name in (self.column, self.entity_column, *self.unique_with):
            if name is not None and name not in known:
                raise ValueError(f"MergeReference: {meta.tablename} has no column {name!r}")

    @property
    def label(self) -> str:
        return f"{self.table._meta.tablename}.{self.column}"


def _common(entity: str) -> list[MergeReference]:
    return [
        MergeReference(Task, "record_id", entity_column="record_type"),
        MergeReference(RecordTag, "record_id", entity_column="entity", unique_with=("tag_id",)),
        MergeReference(ExternalId, "record_id", entity_column="entity"),
    ]


CORE_REFERENCES: dict[str, list[MergeReference]] = {
    "contact": [
        MergeReference(Activity, "contact_id"),
        MergeReference(Deal, "contact_id"),
        MergeReference(Ticket, "requester_id"),
        MergeReference(Lead, "contact_id"),
        *_common("contact"),
    ],
    "organization": [
        MergeReference(Contact, "organization_id"),
        MergeReference(Activity, "organization_id"),
        MergeReference(Deal, "organization_id"),
        MergeReference(Ticket, "organization_id"),
        MergeReference(Lead, "organization_id"),
        *_common("organization"),
    ],
    "deal": [MergeReference(Activity, "deal_id"), *_common("deal")],
}


@hookimpl(trylast=True)
def kith_merge_references(entity: str) -> list[MergeReference]:
    """The core's own tables that point at contacts, organizations and deals (contact
    e-mail addresses move separately: they become the survivor's secondary addresses)."""
    return CORE_REFERENCES.get(entity, [])
