"""The package's layering: imports flow one way (import-linter's contract in pyproject.toml), the
learners know nothing of the families, and the contract itself can fail."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT

LINT = Path(sys.executable).with_name("lint-imports")


def test_the_layering_contract_holds():
    proc = subprocess.run([str(LINT), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout


def test_the_contract_fails_on_an_upward_import(tmp_path):
    """A learner importing a family breaks the contract: the same layers on a tiny package."""
    pkg = tmp_path / "toy"
    for name, body in {
        "__init__.py": "",
        "cli.py": "import toy.report\n",
        "report.py": "import toy.families\n",
        "families.py": "import toy.train\n",
        "train.py": "import toy.families  # upward: a learner reaching into a family\n",
    }.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(body)
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [tool.importlinter]
        root_package = "toy"
        [[tool.importlinter.contracts]]
        name = "layers"
        type = "layers"
        layers = ["toy.cli", "toy.report", "toy.families", "toy.train"]
        """)
    )
    proc = subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tmp_path), "PATH": str(LINT.parent)},
    )
    assert proc.returncode != 0
    assert "toy.train is not allowed to import toy.families" in proc.stdout


def test_learners_import_no_family_and_kernels_import_no_nn():
    """Belt and braces on top of the contract, through the import graph the workflow's code versions
    use (imports inside functions included): what a learner's command runs never reaches a family,
    the report, the workflow glue or the CLI, and the kernels never reach nn."""
    from bnnrepro.workflow.codeversion import closure

    src = ROOT / "src" / "bnnrepro"
    for learner in ("data", "kernels", "nn", "train", "lutnet"):
        for path in sorted((src / learner).rglob("*.py")):
            module = ".".join(path.relative_to(src.parent).with_suffix("").parts).removesuffix(".__init__")
            reached = closure(module)
            above = [
                m
                for m in reached
                if m.startswith(("bnnrepro.families", "bnnrepro.report", "bnnrepro.workflow", "bnnrepro.cli"))
            ]
            assert not above, (module, above)
            if learner == "kernels":
                assert not any(m.startswith("bnnrepro.nn") for m in reached), module
