"""The chat grammar shared by Slack and commands by email, and the natural dates it reads."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import kith
import pytest
from kith.verbs import CORE_VERBS, split_line

VERBS = {v.name: v for v in CORE_VERBS}
# Monday 23 November 2026, 10:00 in Paris
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PARIS = kith.VerbContext(NOW, "Europe/Paris")


def parse(line: str) -> kith.Invocation:
    return kith.parse_line(line, VERBS, PARIS)


@pytest.mark.parametrize(
    ("line", "command", "payload"),
    [
        ("deal move 42 proposal", "deal.move", {"deal": "42", "stage": "proposal"}),
        ('deal move "Acme renewal" won', "deal.move", {"deal": "Acme renewal", "stage": "won"}),
        ("deal move “Acme renewal” won", "deal.move", {"deal": "Acme renewal", "stage": "won"}),
        ("deal won 42", "deal.won", {"deal": "42"}),
        ("deal lost 42 went with a competitor", "deal.lost",
         {"deal": "42", "reason": "went with a competitor"}),
        ("deal show 42", "deal.get", {"deal": "42"}),
        ('deal new "Globex Pro" 12,000.50 usd Globex Corp', "deal.create",
         {"title": "Globex Pro", "value": "12000.50", "currency": "USD",
          "organization": "Globex Corp"}),
        ("lead Ada Lovelace ada@x.example", "lead.capture",
         {"name": "Ada Lovelace", "email": "ada@x.example"}),
        ("lead Ada ada@x.example Analytical Engines #webinar", "lead.capture",
         {"name": "Ada", "email": "ada@x.example", "company": "Analytical Engines",
          "source": "webinar"}),
        ("note ada@x.example she's keen", "activity.log",
         {"kind": "note", "contact": "ada@x.example", "body": "she's keen"}),
        ("call deal:42 pricing call 1h30m", "activity.log",
         {"kind": "call", "deal": "42", "body": "pricing call", "duration": "1h30m"}),
        ("ticket claim 311", "ticket.assign", {"ticket": "311", "assignee": "me"}),
        ("ticket solve 311", "ticket.set_status", {"ticket": "311", "status": "solved"}),
        ("find ada lovelace", "find", {"q": "ada lovelace"}),
        ("forecast me quarter", "forecast.get", {"owner": "me", "period": "quarter"}),
        ("pipeline", "pipeline.get", {"pipeline": "default"}),
    ],
)  # fmt: skip
def test_lines_become_commands(line, command, payload):
    got = parse(line)
    assert (got.command, got.payload) == (command, payload)


def test_a_call_on_a_bare_name_tries_a_contact_then_a_deal():
    got = parse('call "Acme renewal" budget approved')
    assert got.payload["contact"] == "Acme renewal"
    assert got.fallbacks == [{"kind": "call", "body": "budget approved", "deal": "Acme renewal"}]


@pytest.mark.parametrize(
    ("line", "field", "usage"),
    [
        ("deal move 42", "stage", "deal move <deal> <stage>"),
        ("deal fly 42", "action", "deal move <deal> <stage>"),
        ("lead Ada", "email", "lead <name> <email>"),
        ("lead ada@x.example", "name", "lead <name> <email>"),
        ("task call back due", "due", "task <text> [due <when>]"),
        ("task call back due someday", "due", "task <text> [due <when>]"),
        ("ticket new Printer on fire", "requester", "ticket new <requester email>"),
        ('note "unclosed', "line", "help"),
        ("forecast next-decade", "period", "forecast [me|team]"),
    ],
)
def test_a_line_that_is_not_enough_names_the_part_and_shows_the_syntax(line, field, usage):
    with pytest.raises(kith.KithError) as info:
        parse(line)
    assert info.value.code == "invalid_input"
    assert [f.field for f in info.value.fields] == [field]
    assert usage in info.value.message


def test_an_unknown_verb_lists_the_verbs():
    with pytest.raises(kith.KithError) as info:
        parse("frobnicate 1")
    assert "'frobnicate' is not a verb" in info.value.message and "deal" in info.value.message


def test_a_plugin_verb_joins_the_table_and_help():
    def parse_showing(words, context):
        return kith.Invocation("showing.book", {"listing": words[0], "at": words[1]})

    showing = kith.Verb("showing", ("showing <listing> <when>",), "Book a showing", parse_showing)
    verbs = {**VERBS, "showing": showing}
    assert kith.parse_line("showing 12 fri", verbs, PARIS).command == "showing.book"
    assert "showing <listing> <when>" in kith.usage_text(verbs)


def test_words_keep_apostrophes_and_group_quotes():
    assert split_line('note 4 "very keen" isn\'t it') == ["note", "4", "very keen", "isn't", "it"]


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("tomorrow 9am", "2026-11-24 09:00"),
        ("tomorrow", "2026-11-24 09:00"),
        ("today 5pm", "2026-11-23 17:00"),
        ("fri", "2026-11-27 09:00"),
        ("friday 14:30", "2026-11-27 14:30"),
        ("mon", "2026-11-30 09:00"),  # today is Monday: the next one
        ("next wed", "2026-11-25 09:00"),
        ("in 3 days", "2026-11-26 10:00"),
        ("in 2 hours", "2026-11-23 12:00"),
        ("9am", "2026-11-24 09:00"),  # passed today: tomorrow
        ("11:15", "2026-11-23 11:15"),
        ("2027-01-31", "2027-01-31 09:00"),
        ("2027-01-31 8pm", "2027-01-31 20:00"),
    ],
)
def test_natural_dates_in_the_users_time_zone(text, local):
    when = kith.parse_when(text, NOW, "Europe/Paris")
    assert when.tzinfo is not None
    assert when.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M") == local


@pytest.mark.parametrize("text", ["someday", "13pm", "2027-02-30", "in 3 fortnights", "fri 25:00"])
def test_dates_kith_does_not_understand_say_what_would_work(text):
    with pytest.raises(kith.WhenError) as info:
        kith.parse_when(text, NOW, "Europe/Paris")
    assert str(info.value)
