"""The project's own checks: `make lint` (ruff, ruff format, mypy, lint-imports, snakefmt) passes,
the pre-commit hooks run the same checks, and `make help` lists every target of the Makefile."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

VENV = Path(sys.executable).parent.parent
MAKEFILE = (ROOT / "Makefile").read_text()


def lint_commands() -> list[str]:
    """The recipe lines of the Makefile's ``lint-checks`` target (what ``make lint`` runs after setup)."""
    recipe = re.search(r"^lint-checks:[^\n]*\n((?:\t[^\n]*\n)+)", MAKEFILE, re.M)
    assert recipe, "the Makefile has no lint-checks target"
    return [line.strip() for line in recipe.group(1).splitlines()]


def tool(command: str) -> str:
    """``ruff`` of ``$(VENV)/bin/ruff check $(PY_SOURCES)``."""
    return command.split()[0].rsplit("/", 1)[-1]


def test_make_lint_runs_the_five_checks_after_setup():
    assert re.search(r"^lint: setup\b.*\n\t@\$\(MAKE\) --no-print-directory lint-checks$", MAKEFILE, re.M)
    commands = lint_commands()
    assert [tool(c) for c in commands] == ["ruff", "ruff", "mypy", "lint-imports", "snakefmt"]
    assert "--check" in commands[1] and "--check" in commands[4]


def test_pre_commit_runs_the_checks_of_make_lint():
    hooks = [
        h for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"] for h in repo["hooks"]
    ]
    entries = [h["entry"].replace(".venv/bin/", "") for h in hooks]
    # The same tools with the same check-only options (pre-commit adds the changed files, where it may).
    expected = [re.sub(r"\$\([A-Z_]+\)/bin/|\s*\$\([A-Z_]+\)", "", c) for c in lint_commands()]
    assert [e.replace(" --force-exclude", "") for e in entries] == expected
    assert all(h["language"] == "system" for h in hooks)  # the project's pinned tools, no download


def test_make_help_lists_every_target():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    targets = set(re.findall(r"^([a-zA-Z][a-zA-Z_-]*):(?!=)", MAKEFILE, re.M))
    listed = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    shown = {line.split()[1] for line in listed.stdout.splitlines() if line.strip().startswith("make ")}
    assert targets == shown, f"targets without a `## ` comment: {sorted(targets - shown)}"


@pytest.mark.slow
def test_make_lint_passes():
    """The checks of ``make lint`` on this environment (the tools are in the dev extra, so present
    after ``make setup``; without them this test is skipped and says which is missing)."""
    missing = [t for t in {tool(c) for c in lint_commands()} if not (VENV / "bin" / t).exists()]
    if shutil.which("make") is None or missing:
        pytest.skip(f"not installed: {missing or 'make'}; `make setup` installs the dev extra")
    proc = subprocess.run(
        ["make", "--no-print-directory", "-k", "lint-checks", f"VENV={VENV}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, (proc.stdout[-6000:], proc.stderr[-3000:])
