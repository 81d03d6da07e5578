"""docs/hooks.md and docs/commands.md are generated from the code and must stay true."""

from __future__ import annotations

from pathlib import Path

from kith import docs_gen

DOCS = Path(__file__).resolve().parents[2] / "docs"
FIX = "run `python -m kith.docs_gen` (or `kith docs`) and commit the result"


def test_every_hookspec_has_a_docstring() -> None:
    assert docs_gen.hook_specs(), "no hookspec found in kith.hookspecs"
    assert docs_gen.missing_hook_docs() == []


def test_hooks_page_is_up_to_date() -> None:
    page = (DOCS / "hooks.md").read_text(encoding="utf-8")
    assert page == docs_gen.hooks_markdown(), f"docs/hooks.md is stale: {FIX}"


def test_commands_page_is_up_to_date() -> None:
    page = (DOCS / "commands.md").read_text(encoding="utf-8")
    assert page == docs_gen.commands_markdown(), f"docs/commands.md is stale: {FIX}"


def test_each_hook_is_documented_under_its_section_with_its_convention() -> None:
    page = docs_gen.hooks_markdown()
    for hook in docs_gen.hook_specs():
        section = page.index(f"\n## {hook.section}\n")
        entry = page.index(f"\n### {hook.name}\n")
        assert section < entry
        assert hook.signature in page
    assert "async def kith_on_event(event: Event, kith: Kith) -> None" in page
    assert "**async allowed**" in page and "**sync**" in page


def test_commands_page_lists_each_command_with_permission_and_input_fields() -> None:
    page = docs_gen.commands_markdown()
    assert "### contact.create" in page
    assert "permission `contacts.write` · writes" in page
    assert "| `email` | string (at most 320 characters) or null | no |" in page
    assert "| `name` | string (not empty, at most 300 characters) | yes |" in page
    assert "permission `contacts.read` · read-only" in page


def test_a_hookspec_without_docstring_is_reported(monkeypatch) -> None:
    from kith import hookspecs

    monkeypatch.setattr(hookspecs.kith_tables, "__doc__", None)
    assert docs_gen.missing_hook_docs() == ["kith_tables"]


def test_check_fails_on_a_stale_page(tmp_path: Path) -> None:
    docs_gen.write(tmp_path)
    assert docs_gen.main(["--check", "--docs", str(tmp_path)]) == 0
    (tmp_path / "commands.md").write_text("old\n", encoding="utf-8")
    assert docs_gen.main(["--check", "--docs", str(tmp_path)]) == 1


def test_events_page_is_up_to_date() -> None:
    page = (DOCS / "events.md").read_text(encoding="utf-8")
    assert page == docs_gen.events_markdown(), f"docs/events.md is stale: {FIX}"
