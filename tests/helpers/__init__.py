"""The shared kit of the family tests (imported as ``from helpers import ...``, like ``conftest``).

* :data:`THRESHOLDS` and :func:`thresholds`: the claim thresholds at their defaults in the config
  schema (``claims``), the values a default run decides with; never copied by hand into a test;
* :func:`family_context`: a :class:`Context` over planted result tables, each written where the
  family declares it;
* :func:`check` and the verdict helpers: run a registered claim by its id and read its results.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import yaml

from bnnrepro import stats
from bnnrepro.families import registry
from bnnrepro.families.reporting import Claim, ClaimResult, Context
from bnnrepro.io import write_csv
from conftest import ROOT

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


@functools.cache
def schema_claims() -> Mapping[str, Any]:
    """The ``claims`` properties of the config schema: threshold name -> its schema entry."""
    return yaml.safe_load(SCHEMA.read_text())["properties"]["claims"]["properties"]


def thresholds(**overrides: Any) -> dict[str, Any]:
    """Every claim threshold at its schema default, ``overrides`` replacing some (each must name a
    threshold of the schema, so that a test cannot set one that no claim reads)."""
    defaults = {name: entry["default"] for name, entry in schema_claims().items()}
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise KeyError(f"{', '.join(unknown)}: not a threshold of the config schema's claims section")
    return {**defaults, **overrides}


#: The schema's defaults (read-only: a test changes thresholds with :func:`thresholds` or the
#: ``**thresholds`` of :func:`family_context`).
THRESHOLDS: Mapping[str, Any] = MappingProxyType(thresholds())


def family_context(
    family: str,
    config: Mapping[str, Any],
    results: Path,
    tables: Mapping[str, pd.DataFrame] | None = None,
    *,
    inputs: Sequence[str] | None = None,
    report_dir: Path | None = None,
    **overrides: Any,
) -> Context:
    """A :class:`Context` with ``config`` over the results folder ``results`` (the report folder:
    ``report_dir``, by default ``results/report``).

    Its thresholds are the config's (the schema's defaults where it has none) with ``overrides``;
    each of ``tables`` (a table name of the family's declaration -> frame) is written where the
    family declares it; with ``inputs`` (paths of the family's job outputs, possibly empty), the
    family's ``make_tables`` then runs on them, as the workflow's tables step does.
    """
    thresholds(**overrides)  # an override that names no threshold of the schema is an error
    config = {**config, "claims": {**THRESHOLDS, **config.get("claims", {}), **overrides}}
    declared = registry.get(family).tables(config)
    for name, frame in (tables or {}).items():
        write_csv(results / declared[name], frame)
    context = Context(config, results, report_dir or results / "report")
    if inputs is not None:
        registry.analysis(family).make_tables(context, list(inputs))
    return context


@functools.cache
def registered_claims() -> dict[str, Claim]:
    """Every claim of the registry by its id (ids are unique across families)."""
    claims: dict[str, Claim] = {}
    for name in registry.FAMILIES:
        for claim in registry.analysis(name).CLAIMS:
            assert claim.id not in claims, f"claim id {claim.id!r} is used twice"
            claims[claim.id] = claim
    return claims


def check(context: Context, claim_id: str) -> list[ClaimResult]:
    """The results of the registered claim ``claim_id`` on ``context``."""
    return registered_claims()[claim_id].check(context)


def verdicts(results: Iterable[ClaimResult]) -> list[str]:
    """The verdict of each result, in order."""
    return [r.verdict for r in results]


def verdicts_by_scope(results: Iterable[ClaimResult]) -> dict[str, str]:
    """Scope -> verdict."""
    return {r.scope: r.verdict for r in results}


def by_scope(results: Iterable[ClaimResult]) -> dict[str, ClaimResult]:
    """Scope -> result."""
    return {r.scope: r for r in results}


def only(results: Sequence[ClaimResult]) -> ClaimResult:
    """The one result of a claim with one scope."""
    assert len(results) == 1, results
    return results[0]


def estimate_of(result: ClaimResult) -> stats.Estimate:
    """The result's estimate; fails the test when the claim came out without one (not run)."""
    assert result.estimate is not None, f"{result.scope}: no estimate ({result.verdict}: {result.reason})"
    return result.estimate


def judgement_of(result: ClaimResult) -> stats.Judgement:
    """The judgement the result was built from; fails the test when it has none."""
    assert result.judgement is not None, f"{result.scope}: no judgement"
    return result.judgement
