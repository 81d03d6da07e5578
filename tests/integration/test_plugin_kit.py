"""The plugin authors' kit as docs/plugins/guide.md tells it: ``kith plugin new``, ``pip
install -e``, ``pytest`` — a working plugin with passing tests, at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_a_new_plugin_installs_and_passes_its_own_tests(tmp_path: Path) -> None:
    made = run(str(BIN / "kith"), "plugin", "new", "acme-showings", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    package = tmp_path / "kith-acme-showings"
    assert (package / "src" / "kith_acme_showings" / "plugin.py").exists()
    installed = run(
        str(BIN / "pip"),
        "install",
        "--quiet",
        "--no-deps",
        "-e",
        str(package),
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr
    try:
        found = run(
            str(BIN / "python"),
            "-c",
            "import kith; from kith.settings import PluginsFile; "
            "app = kith.Kith(kith.Settings(database_url='sqlite:///:memory:', "
            "load_entry_points=True), plugins_file=PluginsFile()); "
            "print([p.source for p in app.plugins if p.name == 'acme_showings'])",
            cwd=tmp_path,
        )
        assert found.stdout.strip() == "['entry point']", found.stderr
        tested = run(
            str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package
        )
        assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
        assert "4 passed" in tested.stdout
    finally:
        run(str(BIN / "pip"), "uninstall", "--quiet", "-y", "kith-acme-showings", cwd=tmp_path)


def test_a_bad_name_or_an_existing_folder_is_refused(tmp_path: Path) -> None:
    bad = run(str(BIN / "kith"), "plugin", "new", "Acme Showings!", cwd=tmp_path)
    assert bad.returncode != 0 and "NAME" in bad.stderr + bad.stdout
    assert run(str(BIN / "kith"), "plugin", "new", "acme", cwd=tmp_path).returncode == 0
    again = run(str(BIN / "kith"), "plugin", "new", "acme", cwd=tmp_path)
    assert again.returncode != 0 and "already exists" in again.stderr + again.stdout


@pytest.mark.parametrize("name", ["x", "acme-showings", "clinic2"])
def test_every_template_renders(name: str) -> None:
    from kith.scaffold import render

    files = render(name)
    assert "pyproject.toml" in files and all("$" not in Path(p).name for p in files)
