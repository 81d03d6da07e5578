"""The command line: ``kith find`` in a fresh install, and its errors."""

from __future__ import annotations

from click.testing import CliRunner
from kith.cli import main


def test_kith_find_lovelace_finds_ada_in_a_fresh_install(kith_db_url, monkeypatch):
    monkeypatch.setenv("KITH_DATABASE_URL", kith_db_url)
    monkeypatch.setenv("KITH_PLUGINS_FILE", "/nonexistent/plugins.toml")
    cli = CliRunner()
    assert cli.invoke(main, ["user", "add", "ana@kith.example", "--name", "Ana"]).exit_code == 0
    created = cli.invoke(
        main,
        [
            "call",
            "contact.create",
            '{"name": "Ada Lovelace", "email": "ada@example.com"}',
            "--as",
            "ana@kith.example",
        ],
    )
    assert created.exit_code == 0, created.output

    found = cli.invoke(main, ["find", "Lovelace"])
    assert found.exit_code == 0, found.output
    assert "contact" in found.output and "Ada Lovelace" in found.output
    assert "ada@example.com" in found.output

    as_ana = cli.invoke(main, ["find", "ada", "--as", "ana@kith.example", "--json"])
    assert '"label": "Ada Lovelace"' in as_ana.output

    nothing = cli.invoke(main, ["find", "babbage"])
    assert nothing.exit_code == 0 and "Nothing found" in nothing.output

    punctuation = cli.invoke(main, ["find", "?!"])
    assert punctuation.exit_code == 2
    assert "q: give at least one letter or digit" in punctuation.output


def test_kith_demo_after_kith_init_with_the_bundled_plugins(kith_db_url, monkeypatch):
    """The newcomer's path: `kith init` (the sales plugin makes its default pipeline), then
    `kith demo` fills the database, and a second `kith demo` is refused without writing."""
    monkeypatch.setenv("KITH_DATABASE_URL", kith_db_url)
    monkeypatch.setenv("KITH_PLUGINS_FILE", "/nonexistent/plugins.toml")
    cli = CliRunner()
    init = cli.invoke(main, ["init", "--admin", "admin@example.com"])
    assert init.exit_code == 0, init.output

    demo = cli.invoke(main, ["demo"])
    assert demo.exit_code == 0, demo.output
    assert "Sign in as ana@kith.example" in demo.output
    found = cli.invoke(main, ["find", "Lovelace"])
    assert "Ada Lovelace" in found.output
    deals = cli.invoke(main, ["call", "deal.list", '{"limit": 1}', "--as", "ben@kith.example"])
    assert deals.exit_code == 0 and '"title"' in deals.output

    again = cli.invoke(main, ["demo"])
    assert again.exit_code != 0 and "loaded already" in again.output
