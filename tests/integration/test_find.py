"""``find``: one search across contacts, organizations, deals, leads, tickets and plugins."""

from __future__ import annotations

import kith
import pytest
from kith import KithError
from kith.tables import Tag


class TagSearch:
    """A plugin making tags findable (a declarative source on a table it does not own)."""

    @kith.hookimpl
    def kith_search_sources(self):
        return [
            kith.SearchSource(entity="tag", table=Tag, columns=("name",), label="name", area="tags")
        ]


class Broken:
    @kith.hookimpl
    def kith_search_sources(self):
        async def explode(ctx, query, limit):
            raise RuntimeError("index offline")

        return [kith.SearchSource(entity="widget", search=explode, area="contacts")]


class Callable_:
    @kith.hookimpl
    def kith_search_sources(self):
        async def search(ctx, query, limit):
            if "lovelace" in query.terms:
                return [
                    {"id": "ada-1842", "label": "Notes on the Analytical Engine", "score": 0.001}
                ]
            return []

        return [kith.SearchSource(entity="paper", search=search, area="contacts")]


@pytest.fixture
def kith_plugins():
    return [("tag-search", TagSearch()), ("broken", Broken()), ("papers", Callable_())]


@pytest.fixture
async def records(run_command):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    org = await run_command(
        "organization.create", {"name": "Analytical Engines Ltd", "domain": "engines.example"}
    )
    ada = await run_command(
        "contact.create",
        {
            "name": "Ada Lovelace",
            "email": "ada@engines.example",
            "organization": org.id,
            "phone": "+44 20 7946 0958",
        },
    )
    chloe = await run_command("contact.create", {"name": "Chloé Dubois", "email": "c@ex.fr"})
    deal = await run_command("deal.create", {"title": "Lovelace — engine upgrade"})
    lead = await run_command("lead.create", {"name": "Charles Babbage", "company": "Difference"})
    ticket = await run_command(
        "ticket.create", {"subject": "Engine overheats", "requester": ada.id}
    )
    return {"org": org, "ada": ada, "chloe": chloe, "deal": deal, "lead": lead, "ticket": ticket}


def found(result) -> list[tuple[str, object]]:
    return [(h.entity, h.id) for h in result.items]


async def test_find_lovelace_finds_ada_her_deal_and_plugin_results(records, run_command):
    result = await run_command("find", {"q": "Lovelace"})
    hits = found(result)
    assert ("contact", records["ada"].id) in hits
    assert ("deal", records["deal"].id) in hits
    assert ("paper", "ada-1842") in hits  # a plugin's own search function
    ada = next(h for h in result.items if h.entity == "contact")
    assert ada.label == "Ada Lovelace" and ada.detail == "ada@engines.example"


async def test_every_word_must_start_a_word(records, run_command):
    assert found(await run_command("find", {"q": "lov ada"})) == [("contact", records["ada"].id)]
    assert found(await run_command("find", {"q": "ada babbage"})) == []
    assert ("organization", records["org"].id) in found(await run_command("find", {"q": "engines"}))
    assert ("ticket", records["ticket"].id) in found(await run_command("find", {"q": "overheat"}))
    assert found(await run_command("find", {"q": "babb"})) == [("lead", records["lead"].id)]
    assert found(await run_command("find", {"q": "7946"})) == [("contact", records["ada"].id)]
    by_email = await run_command("find", {"q": "ada@engines.example"})
    assert found(by_email)[0] == ("contact", records["ada"].id)


async def test_plugin_tables_are_searched(records, run_command):
    await run_command(
        "tag.add", {"entity": "contact", "record": records["ada"].id, "tag": "pioneer"}
    )
    assert found(await run_command("find", {"q": "pion"})) == [("tag", 1)]


async def test_the_index_follows_updates_and_archives(kith_app, records, run_command):
    await run_command("contact.update", {"contact": records["ada"].id, "name": "Ada King"})
    assert ("contact", records["ada"].id) in found(await run_command("find", {"q": "king"}))
    assert ("contact", records["ada"].id) not in found(
        await run_command("find", {"q": "lovelace", "entities": ["contact"]})
    )
    await run_command("deal.archive", {"deal": records["deal"].id})
    assert found(await run_command("find", {"q": "upgrade"})) == []


@pytest.mark.kith_backends("sqlite")
async def test_accents_do_not_matter_on_sqlite(records, run_command):
    assert found(await run_command("find", {"q": "chloe"})) == [("contact", records["chloe"].id)]
    assert found(await run_command("find", {"q": "CHLOÉ"})) == [("contact", records["chloe"].id)]


async def test_entities_limit_the_search(records, run_command):
    only = await run_command("find", {"q": "lovelace", "entities": ["deal"]})
    assert found(only) == [("deal", records["deal"].id)]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"q": "?!… -- ''"}, "q"),
        ({"q": ""}, "q"),
        ({"q": "ada", "entities": ["spaceship"]}, "entities"),
        ({"q": "ada", "limit": 101}, "limit"),
    ],
)
async def test_bad_find_input_is_a_clear_error(records, run_command, payload, field):
    with pytest.raises(KithError) as info:
        await run_command("find", payload)
    assert info.value.code == "invalid_input"
    assert info.value.fields[0].field == field


async def test_search_syntax_is_never_interpreted(records, run_command):
    for text in ['ada" OR "1', "ada*", "NEAR(ada lovelace)", "ada & !lovelace", "lovelace:*"]:
        result = await run_command("find", {"q": text})
        assert all(h.entity in ("contact", "deal", "paper", "tag") for h in result.items)
