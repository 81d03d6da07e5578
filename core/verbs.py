"""Chat verbs: the one grammar that turns a line people type into a command.

``/kith deal move 42 proposal`` in Slack and a line ``deal move 42 proposal`` in a mail to the
command address are both parsed here, so the grammar is written once and every channel gets
the same verbs, the same errors and the same help. A verb is a thin parser onto a command:
it never writes anything itself. Plugins add verbs through the ``kith_verbs`` hook.

A line is split like a shell line (``"Acme renewal"`` is one word; typographic quotes from
chat clients count as quotes). The first word names the verb; a verb may have sub-verbs
(``deal move``). Errors are :class:`KithError` with ``code="invalid_input"``, a field named
after the part of the line that is wrong, and the verb's usage in the message.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import FieldError, KithError
from .when import WhenError, parse_when

# typographic double quotes from chat clients count as quotes; apostrophes never quote
QUOTES = str.maketrans(dict.fromkeys("\u201c\u201d\u201e\u00ab\u00bb", '"'))
DURATION = re.compile(r"^(\d+h)?(\d+m(in)?)?$|^\d+(s|m|min|h)$")
MONEY = re.compile(r"^\d[\d,]*(\.\d+)?$")
CURRENCY = re.compile(r"^[A-Za-z]{3}$")
MAX_LINE = 4000


@dataclass(frozen=True)
class VerbContext:
    """What a parser may know about who typed the line: when, and in which time zone."""

    now: datetime
    time_zone: str = "UTC"


@dataclass
class Invocation:
    """A parsed line: run ``command`` with ``payload``. ``fallbacks`` are payloads to try,
    in order, when the first names a record that does not exist (``call Acme …`` is a
    contact, else a deal). ``show`` says how a channel should present the result."""

    command: str
    payload: dict[str, Any]
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    show: str = "record"


Parser = Callable[[list[str], VerbContext], Invocation]


@dataclass(frozen=True)
class Verb:
    """A chat verb: ``name`` (one word), ``usage`` lines, a one-line ``summary``, and a
    ``parse`` function from the words after the name to an :class:`Invocation`."""

    name: str
    usage: tuple[str, ...]
    summary: str
    parse: Parser
    examples: tuple[str, ...] = ()


def verb_error(verb: Verb | None, part: str, reason: str) -> KithError:
    """A clear error: what is wrong, and the right syntax."""
    syntax = " · ".join(verb.usage) if verb else "help"
    return KithError(
        "invalid_input",
        f"{part}: {reason}. Usage: {syntax}",
        [FieldError(part, reason, "invalid")],
    )


def split_line(line: str) -> list[str]:
    """Words of ``line``: split on spaces, ``"double quotes"`` group words (typographic ones
    too); an apostrophe is just a letter (``she's``)."""
    if len(line) > MAX_LINE:
        raise verb_error(None, "line", f"is longer than {MAX_LINE} characters")
    lexer = shlex.shlex(line.translate(QUOTES), posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.escape = ""
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise verb_error(None, "line", f"has an unclosed quote ({exc})") from exc


def parse_line(line: str, verbs: dict[str, Verb], context: VerbContext) -> Invocation:
    """Parse one line into an :class:`Invocation` (``help`` when it is empty)."""
    words = split_line(line.strip())
    if not words:
        return Invocation("help", {}, show="help")
    name, rest = words[0].lower(), words[1:]
    verb = verbs.get(name)
    if verb is None:
        known = ", ".join(sorted(verbs))
        raise KithError(
            "invalid_input",
            f"verb: {name!r} is not a verb; try one of {known} (or 'help')",
            [FieldError("verb", f"{name!r} is not a verb", "unknown")],
        )
    return verb.parse(rest, context)


# ---- helpers for parsers --------------------------------------------------------------------


def need(verb: Verb, words: list[str], count: int, what: str) -> None:
    if len(words) < count:
        raise verb_error(verb, what, "is missing")


def when(verb: Verb, text: str, context: VerbContext) -> str:
    try:
        return parse_when(text, context.now, context.time_zone).isoformat()
    except WhenError as exc:
        raise verb_error(verb, "due", str(exc)) from exc


def record_ref(word: str) -> tuple[str, str]:
    """``deal:42`` → ("deal", "42"); ``ticket:#311`` → ticket; anything else: contact."""
    for prefix in ("contact", "deal", "lead", "ticket", "organization", "org"):
        if word.lower().startswith(prefix + ":") and len(word) > len(prefix) + 1:
            kind = "organization" if prefix == "org" else prefix
            return kind, word[len(prefix) + 1 :]
    return "contact", word


def _activity(kind: str) -> Callable[[Verb], Parser]:
    def make(verb: Verb) -> Parser:
        def parse(words: list[str], context: VerbContext) -> Invocation:
            need(verb, words, 1, "record")
            need(verb, words, 2, "notes")
            target, body = words[0], words[1:]
            payload: dict[str, Any] = {"kind": kind}
            if kind == "call" and len(body) > 1 and DURATION.match(body[-1].lower()):
                payload["duration"] = body[-1].lower()
                body = body[:-1]
            payload["body"] = " ".join(body)
            entity, ref = record_ref(target)
            first = {**payload, entity: ref}
            fallbacks = [] if entity != "contact" or ":" in target else [{**payload, "deal": ref}]
            return Invocation("activity.log", first, fallbacks)

        return parse

    return make


# ---- the core verbs -------------------------------------------------------------------------


def _lead(verb: Verb) -> Parser:
    def parse(words: list[str], context: VerbContext) -> Invocation:
        emails = [i for i, w in enumerate(words) if "@" in w and not w.startswith("#")]
        if not emails:
            raise verb_error(verb, "email", "is missing (give the lead's email address)")
        at = emails[0]
        name = " ".join(words[:at])
        if not name:
            raise verb_error(verb, "name", "is missing (write it before the email)")
        sources = [w[1:] for w in words[at + 1 :] if w.startswith("#") and len(w) > 1]
        org = " ".join(w for w in words[at + 1 :] if not w.startswith("#"))
        payload: dict[str, Any] = {"name": name, "email": words[at]}
        if org:
            payload["company"] = org
        if sources:
            payload["source"] = sources[0]
        return Invocation("lead.capture", payload)

    return parse


def _deal(verb: Verb) -> Parser:
    def parse(words: list[str], context: VerbContext) -> Invocation:
        need(verb, words, 1, "action")
        action, rest = words[0].lower(), words[1:]
        if action == "new":
            need(verb, rest, 1, "title")
            payload: dict[str, Any] = {"title": rest[0]}
            more = rest[1:]
            if more and MONEY.match(more[0]):
                payload["value"] = more[0].replace(",", "")
                more = more[1:]
                if more and CURRENCY.match(more[0]):
                    payload["currency"] = more[0].upper()
                    more = more[1:]
            if more:
                payload["organization"] = " ".join(more)
            return Invocation("deal.create", payload)
        need(verb, rest, 1, "deal")
        deal = rest[0]
        if action == "move":
            need(verb, rest, 2, "stage")
            payload = {"deal": deal, "stage": " ".join(rest[1:])}
            return Invocation("deal.move", payload)
        if action == "won":
            payload = {"deal": deal}
            if rest[1:]:
                payload["reason"] = " ".join(rest[1:])
            return Invocation("deal.won", payload)
        if action == "lost":
            need(verb, rest, 2, "reason")
            return Invocation("deal.lost", {"deal": deal, "reason": " ".join(rest[1:])})
        if action == "show":
            return Invocation("deal.get", {"deal": deal})
        raise verb_error(verb, "action", f"{action!r} is not one of new, move, won, lost, show")

    return parse


def _task(verb: Verb) -> Parser:
    def parse(words: list[str], context: VerbContext) -> Invocation:
        lowered = [w.lower() for w in words]
        if "due" in lowered:
            at = len(lowered) - 1 - lowered[::-1].index("due")
            title, due = " ".join(words[:at]), " ".join(words[at + 1 :])
            if not due:
                raise verb_error(verb, "due", "is missing after 'due'")
        else:
            title, due = " ".join(words), ""
        if not title:
            raise verb_error(verb, "title", "is missing")
        payload: dict[str, Any] = {"title": title}
        if due:
            payload["due"] = when(verb, due, context)
        return Invocation("task.create", payload)

    return parse


def _ticket(verb: Verb) -> Parser:
    def parse(words: list[str], context: VerbContext) -> Invocation:
        need(verb, words, 1, "action")
        action, rest = words[0].lower(), words[1:]
        if action == "new":
            need(verb, rest, 1, "requester")
            if "@" not in rest[0]:
                raise verb_error(verb, "requester", "give the customer's email address first")
            need(verb, rest, 2, "subject")
            payload = {"requester": rest[0], "subject": " ".join(rest[1:]), "channel": "slack"}
            return Invocation("ticket.create", payload)
        need(verb, rest, 1, "ticket")
        ticket = rest[0]
        if action == "show":
            return Invocation("ticket.get", {"ticket": ticket})
        if action in ("claim", "take"):
            return Invocation("ticket.assign", {"ticket": ticket, "assignee": "me"})
        if action == "assign":
            need(verb, rest, 2, "assignee")
            return Invocation("ticket.assign", {"ticket": ticket, "assignee": rest[1]})
        if action in ("solve", "close", "open", "pending"):
            status = {"solve": "solved", "close": "closed"}.get(action, action)
            return Invocation("ticket.set_status", {"ticket": ticket, "status": status})
        if action == "comment":
            need(verb, rest, 2, "text")
            return Invocation("ticket.comment", {"ticket": ticket, "body": " ".join(rest[1:])})
        raise verb_error(
            verb, "action", f"{action!r} is not one of new, show, claim, assign, comment, solve"
        )

    return parse


def _find(verb: Verb) -> Parser:
    def parse(words: list[str], context: VerbContext) -> Invocation:
        need(verb, words, 1, "text")
        return Invocation("find", {"q": " ".join(words)}, show="hits")

    return parse


def _pipeline(verb: Verb) -> Parser:
    def parse(words: list[str], context: VerbContext) -> Invocation:
        name = " ".join(words) or "default"
        return Invocation("pipeline.get", {"pipeline": name}, show="pipeline")

    return parse


def _forecast(verb: Verb) -> Parser:
    def parse(words: list[str], context: VerbContext) -> Invocation:
        payload: dict[str, Any] = {}
        for word in (w.lower() for w in words):
            if word == "me":
                payload["owner"] = "me"
            elif word == "team":
                continue  # the whole visible forecast
            elif word in ("month", "quarter", "year"):
                payload["period"] = word
            elif re.match(r"^\d{4}-\d{2}$", word):
                payload["start"], payload["months"] = word, 1
            else:
                raise verb_error(verb, "period", f"{word!r}: give me, team, month, quarter, year")
        return Invocation("forecast.get", payload, show="forecast")

    return parse


def _local(kind: str) -> Callable[[Verb], Parser]:
    """Verbs a channel answers itself (``help``, ``link``): no command runs."""

    def make(verb: Verb) -> Parser:
        def parse(words: list[str], context: VerbContext) -> Invocation:
            return Invocation(kind, {"words": words}, show=kind)

        return parse

    return make


def _verb(
    name: str,
    usage: tuple[str, ...],
    summary: str,
    make: Callable[[Verb], Parser],
    examples: tuple[str, ...] = (),
) -> Verb:
    holder: list[Verb] = []

    def parse(words: list[str], context: VerbContext) -> Invocation:
        return make(holder[0])(words, context)

    verb = Verb(name, usage, summary, parse, examples)
    holder.append(verb)
    return verb


CORE_VERBS: tuple[Verb, ...] = (
    _verb(
        "lead",
        ("lead <name> <email> [company] [#source]",),
        "Capture a lead (routed to an owner)",
        _lead,
        ("lead Ada Lovelace ada@analytical.example Analytical Engines #webinar",),
    ),
    _verb(
        "call",
        ("call <contact|deal:ref> <notes> [duration]",),
        "Log a call on a contact or a deal",
        _activity("call"),
        ('call ada@analytical.example "Talked pricing, sending a quote" 20m',),
    ),
    _verb(
        "note",
        ("note <contact|deal:ref|ticket:ref> <text>",),
        "Add a note to a record",
        _activity("note"),
        ('note deal:"Acme renewal" Budget approved for Q3',),
    ),
    _verb(
        "deal",
        (
            "deal new <title> [value] [currency] [organization]",
            "deal move <deal> <stage>",
            "deal won <deal> [reason]",
            "deal lost <deal> <reason>",
            "deal show <deal>",
        ),
        "Create, move, win, lose or show a deal",
        _deal,
        ("deal move 42 proposal", 'deal move "Acme renewal" won', 'deal new "Acme" 12000 EUR'),
    ),
    _verb(
        "task",
        ("task <text> [due <when>]",),
        "Create a task for yourself (due: 'tomorrow 9am', 'fri', 'in 3 days')",
        _task,
        ("task Send the Initech quote due tomorrow 9am",),
    ),
    _verb(
        "ticket",
        (
            "ticket new <requester email> <subject>",
            "ticket show|claim|solve|close <ticket>",
            "ticket assign <ticket> <user>",
            "ticket comment <ticket> <text>",
        ),
        "Open, show, claim, assign or solve a ticket",
        _ticket,
        ("ticket claim 311", "ticket new jane@initech.example Printer on fire"),
    ),
    _verb("find", ("find <text>",), "Find contacts, organizations, deals, leads, tickets", _find),
    _verb("pipeline", ("pipeline [name]",), "Show a pipeline and its stages", _pipeline),
    _verb(
        "forecast",
        ("forecast [me|team] [month|quarter|year|YYYY-MM]",),
        "The weighted forecast",
        _forecast,
    ),
    _verb("link", ("link",), "Link your chat account to your Kith user", _local("link")),
    _verb("help", ("help [verb]",), "What you can type", _local("help")),
)


def usage_text(verbs: dict[str, Verb], name: str | None = None) -> str:
    """Help: every verb with its usage, or one verb with its examples."""
    if name:
        verb = verbs.get(name.lower())
        if verb is None:
            return f"{name!r} is not a verb. " + usage_text(verbs)
        lines = [f"*{verb.name}* — {verb.summary}", *(f"`{u}`" for u in verb.usage)]
        lines += [f"e.g. `{e}`" for e in verb.examples]
        return "\n".join(lines)
    lines = []
    for verb in sorted(verbs.values(), key=_key):
        lines.append(f"*{verb.name}* — {verb.summary}")
        lines.extend(f"    `{u}`" for u in verb.usage)
    return "\n".join(lines)


def _key(verb: Verb) -> str:
    return verb.name
