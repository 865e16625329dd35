"""Facts written in one place: every claim threshold the families read is a threshold of the config
schema (and every schema threshold is read), the default config decides with the schema's
thresholds, and the "paper" rows of the at-a-glance table come from sources.yaml."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from bnnrepro.families.registry import FAMILIES
from bnnrepro.families.reporting import Glance, paper_glance
from bnnrepro.families.sources import setup
from conftest import ROOT
from helpers import THRESHOLDS, schema_claims, thresholds

FAMILIES_DIR = ROOT / "src" / "bnnrepro" / "families"


def threshold_reads(source: str) -> tuple[set[str], list[str]]:
    """(the threshold names a module reads, the reads whose name could not be resolved).

    A read is ``<x>.thresholds[KEY]`` or ``<x>.thresholds.get(KEY, ...)``. KEY is a string, or a
    parameter of the enclosing function: then every call of that function in the module gives it, as
    a string or as a parameter of its own enclosing function, and so on.
    """
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def owner(name: str, node: ast.AST) -> ast.FunctionDef | None:
        """The innermost function around ``node`` with a parameter ``name`` (closures included)."""
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.FunctionDef) and name in [a.arg for a in node.args.args]:
                return node
        return None

    found: set[str] = set()
    unresolved: list[str] = []

    def resolve(key: ast.expr, at: ast.AST, seen: frozenset = frozenset()) -> None:
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            found.add(key.value)
            return
        if isinstance(key, ast.Constant) and key.value is None:  # no threshold read (the code checks for None)
            return
        if not isinstance(key, ast.Name):
            unresolved.append(f"line {key.lineno}: {ast.unparse(key)}")
            return
        function = owner(key.id, at)
        if function is None or (function.name, key.id) in seen:
            unresolved.append(f"line {key.lineno}: {ast.unparse(key)}")
            return
        position = [a.arg for a in function.args.args].index(key.id)
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function.name
        ]
        if not calls:
            unresolved.append(f"line {key.lineno}: {key.id}, a parameter of {function.name}, which nothing calls")
        for call in calls:
            given = {k.arg: k.value for k in call.keywords}.get(key.id)
            if given is None and position < len(call.args):
                given = call.args[position]
            if given is None:  # not passed: the parameter's default, if it has one
                defaults = function.args.defaults
                first_default = len(function.args.args) - len(defaults)
                if position >= first_default:
                    given = defaults[position - first_default]
            if given is None:
                unresolved.append(f"line {call.lineno}: {function.name}() without {key.id}")
            else:
                resolve(given, call, seen | {(function.name, key.id)})

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_thresholds(node.value):
            resolve(node.slice, node)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and _is_thresholds(node.func.value)
            and node.args
        ):
            resolve(node.args[0], node)
    return found, unresolved


def _is_thresholds(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "thresholds"


def family_threshold_reads() -> tuple[dict[str, set[str]], list[str]]:
    """Module (relative path) -> the thresholds it reads, over every module of the families; and the
    reads that could not be resolved."""
    reads, unresolved = {}, []
    for path in sorted(FAMILIES_DIR.rglob("*.py")):
        found, lost = threshold_reads(path.read_text())
        relative = str(path.relative_to(FAMILIES_DIR))
        if found:
            reads[relative] = found
        unresolved += [f"{relative}, {where}" for where in lost]
    return reads, unresolved


# --- claim thresholds ------------------------------------------------------------------------------


def test_every_threshold_a_family_reads_is_in_the_schema_and_every_schema_threshold_is_read():
    reads, unresolved = family_threshold_reads()
    assert unresolved == [], "threshold reads this test cannot follow; pass the name as a string"
    read = set().union(*reads.values())
    missing = {module: sorted(names - set(THRESHOLDS)) for module, names in reads.items() if names - set(THRESHOLDS)}
    assert missing == {}, "thresholds read but not in workflow/schemas/config.schema.yaml (claims)"
    assert sorted(set(THRESHOLDS) - read) == [], "schema thresholds that no family reads"
    # the indirect reads are followed: efficiency and kernels pass the names through helpers
    assert {"train_time_ratio", "train_memory_ratio"} <= reads["efficiency/claims.py"]
    assert {"kernel_speedup_vs_fp16", "kernel_speedup_vs_fp32"} <= reads["kernels/claims.py"]


def test_the_threshold_reader_finds_direct_indirect_and_unresolvable_reads():
    source = """
def helper(context, key, other):
    return context.thresholds[key] + context.thresholds.get("direct_get", 0)

def outer(name):
    return lambda context: helper(context, name, 1)

def claim(context):
    threshold = context.thresholds["direct"]
    helper(context, key="keyword", other=2)
    return outer("two_levels"), context.thresholds[threshold]
"""
    found, unresolved = threshold_reads(source)
    assert found == {"direct", "direct_get", "keyword", "two_levels"}
    assert unresolved == ["line 11: threshold"]  # a local variable, not a parameter: cannot be followed
    _, unresolved = threshold_reads("def orphan(context, key):\n    return context.thresholds[key]\n")
    assert unresolved == ["line 2: key, a parameter of orphan, which nothing calls"]


def test_the_default_config_decides_with_the_schemas_thresholds():
    from bnnrepro.workflow.plan import load_config

    assert load_config(ROOT, [], [])["claims"] == dict(THRESHOLDS)


def test_the_kit_rejects_a_threshold_the_schema_lacks():
    assert thresholds(lut_gap_slope=0.5)["lut_gap_slope"] == 0.5
    assert {name: entry["default"] for name, entry in schema_claims().items()} == THRESHOLDS
    with pytest.raises(KeyError, match="lut_gap_slop: not a threshold"):
        thresholds(lut_gap_slop=0.5)


# --- the paper rows of the at-a-glance table ------------------------------------------------------


def test_every_family_has_the_setup_of_its_study_in_sources_yaml():
    fields = [f.name for f in dataclasses.fields(Glance) if f.name not in ("family", "what")]
    for name in FAMILIES:
        row = paper_glance(name)
        assert row.family == name and row.what == "paper"
        assert list(setup(name)) == fields, name
        assert all(isinstance(value, str) and value and "{" not in value for value in setup(name).values()), name
    assert setup("easy_examples")["repeats"] == "not stated (Arpit et al. 2017: 100 runs)"  # a {key} is cited
    with pytest.raises(KeyError, match="no setup of the family 'nonesuch'"):
        setup("nonesuch")


def test_no_section_types_a_paper_row_by_hand():
    for path in sorted(FAMILIES_DIR.glob("*/section.py")):
        assert 'what="paper"' not in Path(path).read_text(), path
