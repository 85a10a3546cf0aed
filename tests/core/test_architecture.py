"""The arrows between the apps, checked by import-linter (contracts in pyproject.toml), so CI
enforces what `make lint` shows: the core imports no area, plugins and batches import neither each
other nor profiling, profiling reaches plugins only through its public faces, and inside an app
views -> services/selectors -> models."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def lint_imports(*arguments: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]
    return subprocess.run(
        [*command, "--no-cache", "--no-logo", *arguments], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_every_import_contract_is_kept():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_core_contract_refuses_an_area_import(tmp_path):
    # The same contract, on a copy of the core that imports an area: the tool must see it.
    core = tmp_path / "batchplatform"
    core.mkdir()
    (core / "__init__.py").write_text("")
    (core / "leak.py").write_text("from plugins import services\n")
    area = tmp_path / "plugins"
    area.mkdir()
    (area / "__init__.py").write_text("")
    (area / "services.py").write_text("")
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["batchplatform", "plugins"]\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "core"\ntype = "forbidden"\nsource_modules = ["batchplatform"]\nforbidden_modules = ["plugins"]\n'
    )
    result = lint_imports("--config", str(config), cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode != 0
    assert "batchplatform.leak -> plugins.services" in result.stdout
