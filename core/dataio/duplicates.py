"""Finding records that look like one: scores and reasons, never a silent guess.

Contacts are compared on normalised e-mail addresses (case, ``+tags``, Gmail dots), phone
numbers (the last nine digits), and names (accents, order and initials ignored; rapidfuzz
similarity) — a similar name counts for more at the same organization and for little at a
different one. Organizations on their domain (same registrable domain, or the same name under
another ending) and their name without legal suffixes (Inc, Ltd, GmbH…).

A whole-table scan never compares every pair: records are grouped by e-mail and phone key,
names are compared with their neighbours in two sort orders (sorted-neighbourhood blocking)
and with the other people of their organization. Checking one record compares it with every
record, in C (rapidfuzz), from a handful of columns.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from ..db.statements import quote
from .sql import bind

if TYPE_CHECKING:
    from ..runtime import Kith

WINDOW = 6
NAME_CUTOFF = 85.0
MAX_GROUP = 12  # a phone shared by more people is a switchboard, not a duplicate
MAX_ORG_BLOCK = 2000
LEGAL = frozenset(
    "inc incorporated ltd limited llc llp plc corp corporation co company gmbh ag kg sa sas "
    "sarl srl spa bv nv oy ab as aps pty pte kk sl sociedad group the".split()
)
SECOND_LEVEL = frozenset("co com net org gov ac edu ltd plc ne or".split())


def escape_like(text: str) -> str:
    """``text`` lower-cased for a ``LIKE … ESCAPE '\\'``, its wildcards escaped."""
    return text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9@.+ ]+", " ", text).strip()


def email_key(email: str) -> str:
    """``Jane.Roe+news@googlemail.com`` → ``janeroe@gmail.com``."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        domain, local = "gmail.com", local.replace(".", "")
    return f"{local}@{domain}"


def phone_key(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-9:] if len(digits) >= 9 else None


def name_key(name: str) -> str:
    return " ".join(sorted(fold(name).replace(".", " ").split()))


def org_name_key(name: str) -> str:
    words = [w for w in fold(name).replace(".", " ").split() if w not in LEGAL]
    return " ".join(words)


def registrable(domain: str | None) -> str | None:
    if not domain:
        return None
    labels = domain.lower().split(".")
    take = 3 if len(labels) >= 3 and labels[-2] in SECOND_LEVEL else 2
    return ".".join(labels[-take:])


def has_initial(key: str) -> bool:
    return any(len(t) == 1 for t in key.split())


def name_similarity(a: str, b: str, initials: bool | None = None) -> float:
    """0-100: edit similarity of the sorted-token names; ``j roe`` ~ ``jane roe`` scores 90.
    ``initials``: whether either name has a one-letter token (computed when not given)."""
    if not a or not b:
        return 0.0
    score = fuzz.ratio(a, b)
    if score >= 90:
        return score
    if initials is None:
        initials = has_initial(a) or has_initial(b)
    if not initials:
        return score
    ta, tb = a.split(), b.split()
    if len(ta) == len(tb) > 1:
        rest_a = sorted(t for t in ta if t not in tb)
        rest_b = sorted(t for t in tb if t not in ta)
        if len(rest_a) == len(rest_b) < len(ta) and all(
            x[0] == y[0] and min(len(x), len(y)) == 1 for x, y in zip(rest_a, rest_b, strict=True)
        ):
            score = 90.0
    return score


@dataclass
class Pair:
    """Two records that may be one, with a score (0-100) and the reasons for it."""

    a: int
    b: int
    signals: dict[str, float] = field(default_factory=dict)

    def add(self, reason: str, score: float) -> None:
        self.signals[reason] = max(score, self.signals.get(reason, 0.0))

    @property
    def score(self) -> int:
        scores = sorted(self.signals.values(), reverse=True)
        return min(100, round(scores[0] + 5 * (len(scores) - 1))) if scores else 0

    @property
    def reasons(self) -> list[str]:
        return [r for r, _ in sorted(self.signals.items(), key=lambda kv: -kv[1])]


class Pairs(dict[tuple[int, int], Pair]):
    def add(self, a: int, b: int, reason: str, score: float) -> None:
        if a == b:
            return
        key = (a, b) if a < b else (b, a)
        pair = self.get(key)
        if pair is None:
            pair = self[key] = Pair(*key)
        pair.add(reason, score)


@dataclass
class Person:
    id: int
    name: str
    key: str
    phone: str | None
    organization_id: int | None
    emails: list[str]
    initials: bool = False

    def __post_init__(self) -> None:
        self.initials = has_initial(self.key)


def _similar(x: Person, y: Person) -> float:
    return name_similarity(x.key, y.key, x.initials or y.initials)


def _name_signal(pairs: Pairs, x: Person, y: Person, similarity: float) -> None:
    if similarity < NAME_CUTOFF:
        return
    pct = round(similarity)
    if x.organization_id and x.organization_id == y.organization_id:
        pairs.add(x.id, y.id, f"similar name ({pct}%) at the same organization", similarity * 0.95)
    elif x.organization_id and y.organization_id:
        pairs.add(
            x.id, y.id, f"similar name ({pct}%) at different organizations", similarity * 0.55
        )
    else:
        pairs.add(x.id, y.id, f"similar name ({pct}%)", similarity * 0.7)


def _group(pairs: Pairs, groups: dict[str, list[int]], reason: str, score: float) -> None:
    for key, ids in groups.items():
        if 1 < len(ids) <= MAX_GROUP:
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    pairs.add(a, b, reason.format(key=key), score)


def contact_pairs(people: list[Person], only: int | None = None) -> Pairs:
    """Candidate duplicate pairs among ``people`` (or of the one with id ``only``)."""
    pairs = Pairs()
    by_email: dict[str, list[int]] = defaultdict(list)
    by_phone: dict[str, list[int]] = defaultdict(list)
    for p in people:
        for e in {email_key(e) for e in p.emails}:
            by_email[e].append(p.id)
        if (k := phone_key(p.phone)) is not None:
            by_phone[k].append(p.id)
    if only is not None:
        me = next(p for p in people if p.id == only)
        for e in {email_key(e) for e in me.emails}:
            for other in by_email[e]:
                pairs.add(only, other, f"same e-mail address ({e})", 95)
        if (k := phone_key(me.phone)) is not None and len(by_phone[k]) <= MAX_GROUP:
            for other in by_phone[k]:
                pairs.add(only, other, "same phone number", 80)
        keys = [p.key for p in people]
        for _, _score, index in process.extract(
            me.key, keys, scorer=fuzz.ratio, score_cutoff=70, limit=200
        ):
            other = people[index]
            if other.id != only:
                _name_signal(pairs, me, other, _similar(me, other))
        return pairs
    _group(pairs, by_email, "same e-mail address ({key})", 95)
    _group(pairs, by_phone, "same phone number", 80)
    for order in (lambda p: p.key, lambda p: p.key[::-1]):
        ranked = sorted((p for p in people if p.key), key=order)
        for i, x in enumerate(ranked):
            for y in ranked[i + 1 : i + 1 + WINDOW]:
                _name_signal(pairs, x, y, _similar(x, y))
    by_org: dict[int, list[Person]] = defaultdict(list)
    for p in people:
        if p.organization_id and p.key:
            by_org[p.organization_id].append(p)
    for members in by_org.values():
        if not 1 < len(members) <= MAX_ORG_BLOCK:
            continue
        keys = [m.key for m in members]
        for i, x in enumerate(members):
            for _, _score, j in process.extract(
                x.key, keys[i + 1 :], scorer=fuzz.ratio, score_cutoff=60, limit=None
            ):
                y = members[i + 1 + j]
                _name_signal(pairs, x, y, _similar(x, y))
    return pairs


@dataclass
class Company:
    id: int
    name: str
    key: str
    domain: str | None


def organization_pairs(orgs: list[Company], only: int | None = None) -> Pairs:
    pairs = Pairs()
    by_registrable: dict[str, list[int]] = defaultdict(list)
    by_base: dict[str, list[int]] = defaultdict(list)
    by_name: dict[str, list[int]] = defaultdict(list)
    for o in orgs:
        reg = registrable(o.domain)
        if reg:
            by_registrable[reg].append(o.id)
            by_base[reg.split(".")[0]].append(o.id)
        if o.key:
            by_name[o.key].append(o.id)
    if only is not None:
        me = next(o for o in orgs if o.id == only)
        reg = registrable(me.domain)
        groups = []
        if reg:
            groups.append(({reg: by_registrable[reg]}, "same domain ({key})", 90))
            groups.append(
                (
                    {reg.split(".")[0]: by_base[reg.split(".")[0]]},
                    "same domain name under another ending ({key})",
                    70,
                )
            )
        if me.key:
            groups.append(({me.key: by_name[me.key]}, "same name ({key})", 90))
        for group, reason, score in groups:
            for key, ids in group.items():
                for other in ids:
                    pairs.add(only, other, reason.format(key=key), score)
        keys = [o.key for o in orgs]
        for _, similarity, index in process.extract(
            me.key, keys, scorer=fuzz.ratio, score_cutoff=NAME_CUTOFF, limit=200
        ):
            if orgs[index].id != only and similarity < 100:
                pairs.add(
                    only, orgs[index].id, f"similar name ({round(similarity)}%)", similarity * 0.85
                )
        return pairs
    _group(pairs, by_registrable, "same domain ({key})", 90)
    _group(pairs, by_base, "same domain name under another ending ({key})", 70)
    _group(pairs, by_name, "same name ({key})", 90)
    for order in (lambda o: o.key, lambda o: o.key[::-1]):
        ranked = sorted((o for o in orgs if o.key), key=order)
        for i, x in enumerate(ranked):
            for y in ranked[i + 1 : i + 1 + WINDOW]:
                similarity = fuzz.ratio(x.key, y.key)
                if NAME_CUTOFF <= similarity < 100:
                    pairs.add(x.id, y.id, f"similar name ({round(similarity)}%)", similarity * 0.85)
    return pairs


# ---- loading ---------------------------------------------------------------------------------


def _in(ids: list[int] | None) -> tuple[str, list[Any]]:
    if ids is None:
        return "", []
    return f' AND "id" IN ({", ".join("?" for _ in ids)})', list(ids)


async def load_people(kith: Kith, ids: list[int] | None = None) -> list[Person]:
    where, params = _in(ids)
    rows = await _like(
        kith,
        'SELECT "id", "name", "phone", "organization_id" FROM "contacts" '  # noqa: S608
        f'WHERE "archived_at" IS NULL{where} ORDER BY "id"',
        params,
    )
    emails: dict[int, list[str]] = defaultdict(list)
    where = where.replace('"id"', '"contact_id"').replace(" AND", " WHERE", 1)
    sql = f'SELECT "contact_id", "email" FROM "contact_emails"{where}'  # noqa: S608
    for r in await _like(kith, sql, params):
        emails[r["contact_id"]].append(r["email"])
    return [
        Person(
            r["id"],
            r["name"],
            name_key(r["name"]),
            r["phone"],
            r["organization_id"],
            emails.get(r["id"], []),
        )
        for r in rows
    ]


async def load_companies(kith: Kith, ids: list[int] | None = None) -> list[Company]:
    where, params = _in(ids)
    rows = await _like(
        kith,
        'SELECT "id", "name", "domain" FROM "organizations" '  # noqa: S608
        f'WHERE "archived_at" IS NULL{where} ORDER BY "id"',
        params,
    )
    return [Company(r["id"], r["name"], org_name_key(r["name"]), r["domain"]) for r in rows]


async def _like(kith: Kith, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return await kith.db.fetch(bind(kith.db.statements, sql), params)


# A word shared with more records than this says nothing ("Contact", "Inc", "John"): it
# blocks only together with the name's other words.
COMMON_WORD = 50
BLOCK_LIMIT = 200
_WORD = re.compile(r"[^\W_]+")


async def _indexed(
    kith: Kith, entity: str, words: list[str], limit: int, *, prefix: bool
) -> list[int]:
    """Active records of ``entity`` whose search index has every word (as a whole word, or
    as the start of one with ``prefix``)."""
    from ..search import FTS, pg_document

    index = FTS[entity]
    table = quote(index.table)
    if kith.db.dialect == "postgres":
        sql = (
            f'SELECT "id" FROM {table} WHERE {pg_document(index.columns)} '  # noqa: S608
            "@@ to_tsquery('simple', ?) AND \"archived_at\" IS NULL LIMIT ?"
        )
        match = " & ".join(f"{w}:*" if prefix else w for w in words)
    else:
        fts = quote(f"{index.table}_fts")
        sql = (
            f'SELECT t."id" AS "id" FROM {fts} JOIN {table} t ON t."id" = {fts}.rowid '  # noqa: S608
            f'WHERE {fts} MATCH ? AND t."archived_at" IS NULL LIMIT ?'
        )
        match = " ".join(f'"{w}"*' if prefix else f'"{w}"' for w in words)
    return [r["id"] for r in await _like(kith, sql, [match, limit])]


# Words found common, per database and entity, until when (monotonic seconds): a word shared
# by many records stays so, and asking again is the costliest query of a check (on
# PostgreSQL a prefix match of a common word builds a bitmap of nearly the whole table).
_COMMON_FOR_S = 600.0
_common: dict[tuple[int, str, str], float] = {}


def _known_common(kith: Kith, entity: str, word: str) -> bool:
    until = _common.get((id(kith), entity, word))
    return until is not None and until > time.monotonic()


def _remember_common(kith: Kith, entity: str, word: str) -> None:
    if len(_common) > 10_000:
        _common.clear()
    _common[(id(kith), entity, word)] = time.monotonic() + _COMMON_FOR_S


async def name_block(kith: Kith, entity: str, tokens: Iterable[str]) -> set[int]:
    """Records that could share a name with one whose name has ``tokens``, found through
    the full-text index (no table scan): those with all its words, and those with a word
    starting like one of its uncommon words (a word found common is remembered for ten
    minutes rather than asked again)."""
    words = sorted({w.lower() for t in tokens for w in _WORD.findall(t) if len(w) >= 3})
    if not words:
        return set()
    ids = set(await _indexed(kith, entity, words, BLOCK_LIMIT, prefix=False))
    for word in words:
        if _known_common(kith, entity, word):
            continue
        found = await _indexed(kith, entity, [word], COMMON_WORD + 1, prefix=True)
        if len(found) <= COMMON_WORD:
            ids.update(found)
        else:
            _remember_common(kith, entity, word)
    return ids


async def _same_email(kith: Kith, email: str) -> set[int]:
    """Contacts with an address of the same key (``Jane.Roe+x@googlemail.com`` is
    ``janeroe@gmail.com``), through ranges of the unique index on addresses: for most
    domains the key only drops a ``+tag``, so the address itself and ``local+…`` are the
    only candidates; Gmail ignores dots too, so there the range is the first letters."""
    local, _, domain = email.strip().lower().rpartition("@")
    base = local.split("+", 1)[0]
    if not base or not domain:
        return set()
    if domain in ("gmail.com", "googlemail.com"):
        start = base[:3]
        where, params = (
            '"email" >= ? AND "email" < ?',
            [start, start[:-1] + chr(ord(start[-1]) + 1)],
        )
    else:  # the address itself, or local+… ("," is the character after "+")
        where = '("email" = ? OR ("email" >= ? AND "email" < ?))'
        params = [f"{base}@{domain}", base + "+", base + ","]
    rows = await _like(
        kith,
        f'SELECT "contact_id", "email" FROM "contact_emails" WHERE {where} LIMIT 2000',  # noqa: S608
        params,
    )
    key = email_key(email)
    return {r["contact_id"] for r in rows if email_key(r["email"]) == key}


# The last nine characters of a phone without its usual separators: the expression of the
# contacts_phone_tail index (migration kith_0008), which the duplicate check's query must
# repeat exactly for the database to use the index.
_STRIPPED = (
    "replace(replace(replace(replace(replace(replace(\"phone\", ' ', ''), '-', ''), "
    "'.', ''), '(', ''), ')', ''), '+', '')"
)
PHONE_TAIL = {"sqlite": f"substr({_STRIPPED}, -9)", "postgres": f"right({_STRIPPED}, 9)"}


async def _same_phone(kith: Kith, phone: str | None) -> set[int]:
    key = phone_key(phone)
    if key is None:
        return set()
    rows = await _like(
        kith,
        f'SELECT "id", "phone" FROM "contacts" WHERE {PHONE_TAIL[kith.db.dialect]} = ? '  # noqa: S608
        'AND "archived_at" IS NULL LIMIT 500',
        [key],
    )
    return {r["id"] for r in rows if phone_key(r["phone"]) == key}


async def candidate_people(kith: Kith, record_id: int) -> list[Person]:
    """The contact and the few that could be its duplicates (same organization, a name
    token in common, an address at the same domain starting alike, a phone ending alike)."""
    me = await _like(kith, 'SELECT * FROM "contacts" WHERE "id" = ?', [record_id])
    if not me or me[0]["archived_at"] is not None:
        return []
    row = me[0]
    ids: set[int] = {record_id}
    active = '"archived_at" IS NULL'
    if row["organization_id"]:
        found = await _like(
            kith,
            f'SELECT "id" FROM "contacts" WHERE "organization_id" = ? AND {active} LIMIT ?',  # noqa: S608
            [row["organization_id"], MAX_ORG_BLOCK],
        )
        ids.update(r["id"] for r in found)
    ids.update(await name_block(kith, "contact", name_key(row["name"]).split()))
    mine = await _like(
        kith, 'SELECT "email" FROM "contact_emails" WHERE "contact_id" = ?', [record_id]
    )
    for r in mine:
        ids.update(await _same_email(kith, r["email"]))
    ids.update(await _same_phone(kith, row["phone"]))
    if ids == {record_id}:
        return []  # nobody shares a word, an address or a number with it
    return [p for p in await load_people(kith, sorted(ids))]


async def candidate_companies(kith: Kith, record_id: int) -> list[Company]:
    me = await _like(kith, 'SELECT * FROM "organizations" WHERE "id" = ?', [record_id])
    if not me or me[0]["archived_at"] is not None:
        return []
    row = me[0]
    ids: set[int] = {record_id}
    tokens = {t for t in org_name_key(row["name"]).split() if len(t) >= 3}
    reg = registrable(row["domain"])
    if reg:
        tokens.add(reg.split(".")[0])
    ids.update(await name_block(kith, "organization", sorted(tokens)))
    return await load_companies(kith, sorted(ids))


async def find_pairs(
    kith: Kith, entity: str, only: int | None = None
) -> tuple[Pairs, dict[int, str]]:
    """Candidate pairs for ``entity`` (contact or organization) — of one record with
    ``only`` — and each record's label."""
    if entity == "contact":
        people = await (candidate_people(kith, only) if only else load_people(kith))
        if only is not None and not any(p.id == only for p in people):
            return Pairs(), {}
        return contact_pairs(people, only), {p.id: p.name for p in people}
    orgs = await (candidate_companies(kith, only) if only else load_companies(kith))
    if only is not None and not any(o.id == only for o in orgs):
        return Pairs(), {}
    return organization_pairs(orgs, only), {o.id: o.name for o in orgs}


async def pair_statuses(
    kith: Kith, entity: str, only: Iterable[tuple[int, int]] | None = None
) -> dict[tuple[int, int], str]:
    """The recorded status of pairs of ``entity``: all, or just the pairs ``only`` (looked
    up through the unique index, for the check that follows each new record)."""
    st = kith.db.statements
    sql = (
        f'SELECT "record_id", "other_id", "status" FROM {quote("duplicate_pairs")} '  # noqa: S608
        f'WHERE "entity" = {st.placeholders(1)[0]}'
    )
    if only is None:
        rows = await kith.db.fetch(sql, [entity])
        return {(r["record_id"], r["other_id"]): r["status"] for r in rows}
    wanted = set(only)
    firsts = sorted({a for a, _ in wanted})
    if not firsts:
        return {}
    marks = ", ".join(st.placeholders(len(firsts), start=2))
    rows = await kith.db.fetch(sql + f' AND "record_id" IN ({marks})', [entity, *firsts])
    found = {(r["record_id"], r["other_id"]): r["status"] for r in rows}
    return {key: status for key, status in found.items() if key in wanted}


def ranked(pairs: Iterable[Pair], min_score: int) -> list[Pair]:
    return sorted((p for p in pairs if p.score >= min_score), key=lambda p: (-p.score, p.a, p.b))


def present(pair: Pair, labels: dict[int, str], status: str = "new") -> dict[str, Any]:
    return {
        "a": {"id": pair.a, "label": labels.get(pair.a, "")},
        "b": {"id": pair.b, "label": labels.get(pair.b, "")},
        "score": pair.score,
        "reasons": pair.reasons,
        "status": status,
    }
