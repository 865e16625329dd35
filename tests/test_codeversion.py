"""Code versions from the import graph: a rule reruns when a module its command imports changes,
and not for a comment, a docstring or a module it does not import."""

from __future__ import annotations

import shutil

import pytest

from bnnrepro.workflow.codeversion import closure, code_version
from conftest import ROOT

TRAIN = "bnnrepro.train.command"
MEMO = "bnnrepro.families.memorization.analysis"


@pytest.fixture
def src(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "bnnrepro", copy / "bnnrepro", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def edit(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def versions(src):
    return {m: code_version(m, src=src) for m in (TRAIN, MEMO, "bnnrepro.report.build")}


def test_closure_follows_imports_inside_functions_and_package_inits():
    mods = closure(TRAIN)
    assert {
        "bnnrepro.train.loop",
        "bnnrepro.nn.layers",
        "bnnrepro.kernels.dispatch",
        "bnnrepro.data.cache",
        "bnnrepro.train",
        "bnnrepro.nn",
        "bnnrepro",
    } <= set(mods)
    assert not any(m.startswith(("bnnrepro.families", "bnnrepro.report", "bnnrepro.cli")) for m in mods)
    memo = closure(MEMO)
    assert "bnnrepro.train.records" in memo and "bnnrepro.train.loop" not in memo and "bnnrepro.nn" not in memo


def test_comments_docstrings_and_blank_lines_change_nothing(src):
    before = versions(src)
    loop = src / "bnnrepro/train/loop.py"
    edit(loop, "def _evaluate(", "# a comment added by a maintainer\n\n\ndef _evaluate(")
    edit(loop, '"""The one training loop', '"""The one and only training loop')
    assert versions(src) == before


def test_a_changed_statement_reruns_exactly_the_rules_that_import_it(src):
    before = versions(src)
    edit(src / "bnnrepro/train/loop.py", "rows = []", "rows = list()")
    after = versions(src)
    assert after[TRAIN] != before[TRAIN]
    assert after[MEMO] == before[MEMO]  # the memorization tables do not import the training loop
    edit(
        src / "bnnrepro/families/memorization/tables.py",
        'LABEL_ORDER = ["true", "randY", "randX"]',
        'LABEL_ORDER = ["randY", "true", "randX"]',
    )
    again = versions(src)
    assert again[MEMO] != after[MEMO] and again[TRAIN] == after[TRAIN]
    # the report rule's version counts the families' analysis modules it loads by name (report.smk)
    assert again["bnnrepro.report.build"] == after["bnnrepro.report.build"]
    assert code_version("bnnrepro.report.build", MEMO, src=src) != code_version("bnnrepro.report.build", src=src)


def test_a_new_import_brings_its_module_into_the_version(src):
    before = code_version(MEMO, src=src)
    (src / "bnnrepro/families/extra_helper.py").write_text("VALUE = 1\n")
    assert code_version(MEMO, src=src) == before  # not imported: nothing changes
    edit(
        src / "bnnrepro/families/memorization/tables.py",
        "from bnnrepro import stats",
        "from bnnrepro import stats\nfrom bnnrepro.families import extra_helper  # noqa: F401",
    )
    with_import = code_version(MEMO, src=src)
    assert with_import != before
    (src / "bnnrepro/families/extra_helper.py").write_text("VALUE = 2\n")
    assert code_version(MEMO, src=src) != with_import


def test_imports_for_type_checkers_only_are_not_dependencies(src):
    """``if TYPE_CHECKING:`` imports never run (nn/ and train/ name their lazy exports that way):
    following them would tie e.g. the memorization tables to the training loop."""
    (src / "bnnrepro/families/typed_only.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bnnrepro.train.loop import RunResult\n"
        "else:\n    from bnnrepro import stats\n"
    )
    mods = closure("bnnrepro.families.typed_only", src=src)
    assert "bnnrepro.stats" in mods and "bnnrepro.train.loop" not in mods
    assert "bnnrepro.train.loop" not in closure("bnnrepro.train", src=src)  # the lazy package itself


def test_data_files_beside_the_modules_count(src):
    before = code_version(MEMO, src=src)
    edit(src / "bnnrepro/families/sources/sources.yaml", "value: 0.9058", "value: 0.9059")
    assert code_version(MEMO, src=src) != before


def test_no_module_imports_a_name_through_a_lazy_package():
    """Packages whose ``__init__`` resolves names on first access (``__getattr__``: nn, train) hide
    the defining module from the static import graph, so the package's own code imports from the
    defining submodule instead; this keeps every code version exact."""
    import ast

    package = ROOT / "src" / "bnnrepro"
    lazy = {
        ".".join(init.parent.relative_to(package.parent).parts)
        for init in package.rglob("__init__.py")
        if "def __getattr__" in init.read_text()
    }
    assert {"bnnrepro.nn", "bnnrepro.train"} <= lazy
    offenders = []
    for path in package.rglob("*.py"):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in lazy:
                folder = package.parent.joinpath(*node.module.split("."))
                hidden = [
                    a.name
                    for a in node.names
                    if not (folder / f"{a.name}.py").exists()
                    and not (folder / a.name).is_dir()
                    and f"def {a.name}" not in (folder / "__init__.py").read_text()
                ]
                if hidden and "_LAZY" in (folder / "__init__.py").read_text():
                    offenders.append(f"{path.relative_to(package)}:{node.lineno} from {node.module} import {hidden}")
    assert not offenders, offenders
