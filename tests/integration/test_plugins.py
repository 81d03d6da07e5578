"""Plugins: hooks called one by one, settings validated, vetoes respected."""

from __future__ import annotations

import kith
import pytest
from kith import KithError
from kith.settings import PluginsFile, load_plugins_file
from kith.testing import count_rows
from pydantic import BaseModel, ConfigDict


class Exploding:
    @kith.hookimpl
    def kith_on_event(self, event):
        raise RuntimeError("boom")


class Recording:
    def __init__(self):
        self.seen: list[str] = []

    @kith.hookimpl
    async def kith_on_event(self, event):
        self.seen.append(event.name)


recording = Recording()


class NoGmail:
    @kith.hookimpl
    def kith_validate(self, command, data, actor):
        if command == "contact.create" and data.email and data.email.endswith("@gmail.com"):
            raise kith.invalid("email", "personal addresses are not allowed here")


class TitleCase:
    @kith.hookimpl
    async def kith_validate(self, command, data, actor):
        if command == "contact.create":
            return data.model_copy(update={"name": data.name.title()})
        return None


@pytest.fixture
def kith_plugins():
    recording.seen.clear()
    return [
        ("exploding", Exploding()),
        ("recording", recording),
        ("no-gmail", NoGmail()),
        ("title", TitleCase()),
    ]


async def test_one_failing_event_handler_does_not_starve_the_others(kith_app, run_command):
    contact = await run_command("contact.create", {"name": "ada lovelace"})
    assert contact.name == "Ada Lovelace"  # enriched by an async kith_validate
    assert "contact.created" in recording.seen
    failures = kith_app.dispatcher.failures
    assert failures and failures[-1].plugin == "exploding" and "boom" in failures[-1].error


async def test_a_plugin_veto_names_the_field_and_writes_nothing(kith_app, run_command):
    before = await count_rows(kith_app, "contacts")
    with pytest.raises(KithError) as info:
        await run_command("contact.create", {"name": "Ada", "email": "ada@gmail.com"})
    assert info.value.fields[0].field == "email"
    assert "personal addresses" in info.value.message
    assert await count_rows(kith_app, "contacts") == before


class WithSettings:
    class Model(BaseModel):
        model_config = ConfigDict(extra="forbid")
        currency: str = "EUR"
        rotting_days: int = 14

    @kith.hookimpl
    def kith_settings_model(self):
        return self.Model


def test_plugin_settings_are_validated_with_a_clear_error():
    pf = PluginsFile(
        enabled={"sales-like": True}, settings={"sales-like": {"rotting_days": "soon"}}
    )
    with pytest.raises(KithError) as info:
        kith.Kith(
            kith.Settings(database_url="sqlite:///:memory:"),
            plugins_file=pf,
            extra_plugins=[("sales-like", WithSettings())],
        )
    assert info.value.code == "invalid_settings"
    assert info.value.fields[0].field == "plugins.sales-like.rotting_days"


def test_plugin_settings_reach_the_plugin():
    pf = PluginsFile(enabled={"sales-like": True}, settings={"sales-like": {"rotting_days": 7}})
    app = kith.Kith(
        kith.Settings(database_url="sqlite:///:memory:"),
        plugins_file=pf,
        extra_plugins=[("sales-like", WithSettings())],
    )
    assert app.plugin_settings("sales-like").rotting_days == 7


def test_plugins_toml_is_read(tmp_path):
    path = tmp_path / "plugins.toml"
    path.write_text('[plugins.sales]\nenabled = false\ncurrency = "USD"\n', encoding="utf-8")
    pf = load_plugins_file(path)
    assert pf.is_enabled("sales") is False
    assert pf.settings["sales"] == {"currency": "USD"}


def test_plugins_toml_with_a_wrong_type_for_enabled_is_refused(tmp_path):
    path = tmp_path / "plugins.toml"
    path.write_text('[plugins.sales]\nenabled = "yes"\n', encoding="utf-8")
    with pytest.raises(KithError) as info:
        load_plugins_file(path)
    assert info.value.fields[0].field == "plugins.sales.enabled"


class Misspelled:
    @kith.hookimpl
    def kith_on_evnt(self, event):  # a typo pluggy would otherwise ignore
        pass


def test_a_misspelled_hook_stops_the_start():
    with pytest.raises(KithError) as info:
        kith.Kith(
            kith.Settings(database_url="sqlite:///:memory:"), extra_plugins=[("typo", Misspelled())]
        )
    assert "kith_on_evnt" in info.value.message


class Duplicate:
    @kith.hookimpl
    def kith_commands(self):
        @kith.command("contact.create", input=BaseModel, permission="contacts.write")
        async def again(ctx, data):
            """Shadow the core's command."""

        return [again]


def test_two_plugins_registering_one_command_name_is_an_error():
    with pytest.raises(KithError) as info:
        kith.Kith(
            kith.Settings(database_url="sqlite:///:memory:"), extra_plugins=[("dup", Duplicate())]
        )
    assert "contact.create" in info.value.message and "dup" in info.value.message


def test_every_hookspec_has_a_docstring():
    from kith import hookspecs

    specs = [n for n in dir(hookspecs) if n.startswith("kith_")]
    assert specs
    for name in specs:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert len(doc.strip()) > 40, f"{name} needs a docstring"
