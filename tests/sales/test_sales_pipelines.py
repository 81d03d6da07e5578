"""Pipelines and stages: the default pipeline, reordering, and guards that protect deals."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from kith import SYSTEM, KithError
from kith.plugins.sales.commands.pipelines import ensure_default_pipeline
from kith.testing import count_rows
from sales_helpers import named


async def test_the_default_pipeline_has_the_seven_stages(pipeline):
    assert pipeline.is_default
    assert [(s.name, s.probability, s.kind) for s in pipeline.stages] == [
        ("Qualification", 20, "open"),
        ("Discovery", 30, "open"),
        ("Demo", 40, "open"),
        ("Proposal", 60, "open"),
        ("Negotiation", 75, "open"),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]


async def test_creating_the_default_pipeline_again_changes_nothing(pipeline, kith_app):
    await kith_app.run("pipeline.update", {"pipeline": "Sales", "name": "New business"}, SYSTEM)
    assert await ensure_default_pipeline(kith_app) is False
    assert await count_rows(kith_app, "pipelines") == 1


def test_kith_init_creates_the_sales_pipeline_once(tmp_path, monkeypatch):
    from kith.cli import main

    monkeypatch.setenv("KITH_DATABASE_URL", f"sqlite:///{tmp_path / 'kith.db'}")
    monkeypatch.setenv("KITH_PLUGINS_FILE", str(tmp_path / "plugins.toml"))
    monkeypatch.setenv("KITH_SECRET_KEY_FILE", str(tmp_path / "secret"))
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(main, ["init", "--admin", "ben@example.com", "--name", "Ben"])
        assert result.exit_code == 0, result.output
    import sqlite3

    db = sqlite3.connect(tmp_path / "kith.db")
    assert db.execute("SELECT name FROM pipelines").fetchall() == [("Sales",)]
    assert db.execute("SELECT COUNT(*) FROM stages").fetchone() == (7,)
    assert db.execute("SELECT email, role FROM users").fetchall() == [("ben@example.com", "admin")]


async def test_a_second_pipeline_with_its_own_stages(pipeline, run_command):
    renewal = await run_command(
        "pipeline.create",
        {
            "name": "Renewals",
            "stages": [
                {"name": "Upcoming", "probability": 50},
                {"name": "Renewed", "probability": 100, "kind": "won"},
                {"name": "Churned", "kind": "lost"},
            ],
        },
    )
    deal = await run_command("deal.create", {"title": "Initech renewal", "pipeline": "Renewals"})
    assert deal.pipeline_id == renewal.id
    won = await run_command("deal.won", {"deal": deal.id})
    assert won.stage == "Renewed"


async def test_reordering_stages(pipeline, run_command, events):
    order = ["Qualification", "Demo", "Discovery", "Proposal", "Negotiation", "Won", "Lost"]
    result = await run_command("stage.reorder", {"pipeline": "Sales", "stages": order})
    assert result.stages == order
    again = await run_command("pipeline.get", {"pipeline": "Sales"})
    assert [s.name for s in again.stages] == order
    assert len(named(events, "pipeline.stages_reordered")) == 1


async def test_reordering_must_name_every_stage(pipeline, run_command, kith_app):
    with pytest.raises(KithError) as info:
        await run_command("stage.reorder", {"pipeline": "Sales", "stages": ["Demo", "Won"]})
    assert info.value.fields[0].field == "stages"
    assert "Qualification" in info.value.message


async def test_renaming_a_stage_keeps_its_deals(pipeline, run_command):
    deal = await run_command("deal.create", {"title": "Initech"})
    stage = pipeline.stages[0]
    await run_command("stage.update", {"stage": stage.id, "name": "Lead in"})
    moved = await run_command("deal.move", {"deal": deal.id, "stage": "lead in"})
    assert moved.stage_id == stage.id


async def test_archiving_a_stage_that_holds_deals_is_refused(pipeline, run_command, kith_app):
    deal = await run_command("deal.create", {"title": "Initech"})
    demo = next(s for s in pipeline.stages if s.name == "Demo")
    await run_command("deal.move", {"deal": deal.id, "stage": "demo"})
    with pytest.raises(KithError) as info:
        await run_command("stage.archive", {"stage": demo.id})
    assert info.value.code == "stage_not_empty"
    assert info.value.fields[0].field == "stage"
    assert "move them" in info.value.message

    await run_command("deal.move", {"deal": deal.id, "stage": "proposal"})
    archived = await run_command("stage.archive", {"stage": "Demo"})
    assert archived.archived_at is not None
    with pytest.raises(KithError) as info:
        await run_command("deal.move", {"deal": deal.id, "stage": "demo"})
    assert info.value.fields[0].field == "stage"


async def test_archiving_a_stage_by_name_is_guarded_too(pipeline, run_command):
    await run_command("deal.create", {"title": "Initech"})
    with pytest.raises(KithError) as info:
        await run_command("stage.archive", {"stage": "qualification"})
    assert info.value.code == "stage_not_empty"


async def test_a_pipeline_with_open_deals_cannot_be_archived(pipeline, run_command):
    await run_command("deal.create", {"title": "Initech"})
    with pytest.raises(KithError) as info:
        await run_command("pipeline.archive", {"pipeline": "Sales"})
    assert info.value.code == "pipeline_not_empty"


async def test_the_kind_of_a_stage_with_deals_cannot_change(pipeline, run_command):
    await run_command("deal.create", {"title": "Initech"})
    with pytest.raises(KithError) as info:
        await run_command("stage.update", {"stage": pipeline.stages[0].id, "kind": "won"})
    assert info.value.fields[0].field == "kind"
    changed = await run_command("stage.update", {"stage": pipeline.stages[0].id, "probability": 25})
    assert changed.probability == 25
