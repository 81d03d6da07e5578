"""`kith automations import FILE.yaml` and `kith automations export` on a real database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from kith.cli import main

EXAMPLE_PATH = Path(__file__).parent / "follow_up_qualified_deals.yaml"


@pytest.fixture
def cli_env(tmp_path, _kith_templates):
    db = tmp_path / "kith.db"
    shutil.copyfile(_kith_templates.sqlite(), db)
    return {
        "KITH_DATABASE_URL": f"sqlite:///{db}",
        "KITH_PLUGINS_FILE": str(tmp_path / "plugins.toml"),
    }


def test_the_example_file_imports_as_written_and_exports_back(cli_env, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["automations", "import", str(EXAMPLE_PATH)], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "created   #1 Follow up qualified deals (disabled)" in result.output

    out = tmp_path / "export.yaml"
    result = runner.invoke(main, ["automations", "export", "-o", str(out)], env=cli_env)
    assert result.exit_code == 0, result.output
    original = yaml.safe_load(EXAMPLE_PATH.read_text(encoding="utf-8"))
    assert yaml.safe_load(out.read_text(encoding="utf-8")) == {**original, "enabled": False}

    result = runner.invoke(main, ["automations", "import", str(out)], env=cli_env)
    assert "unchanged" in result.output

    result = runner.invoke(main, ["automations", "list"], env=cli_env)
    assert "off v1   deal.stage_changed" in result.output


def test_a_bad_file_exits_2_naming_the_field_and_imports_nothing(cli_env, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE_PATH.read_text(encoding="utf-8").replace("greater_than: 1000", "greater_than: x"),
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(main, ["automations", "import", str(bad)], env=cli_env)
    assert result.exit_code == 2
    assert "definition.if.all.1.greater_than: needs a number, not 'x'" in result.output
    result = runner.invoke(main, ["automations", "list"], env=cli_env)
    assert result.output == ""


def test_the_defaults_import_with_one_flag(cli_env):
    result = CliRunner().invoke(main, ["automations", "import", "--defaults"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert result.output.count("created") == 3
    assert "needs plugin service" in result.output  # sales is installed, service not yet
