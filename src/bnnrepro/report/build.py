"""``bnnrepro report build``: render the HTML report and ``claims.csv`` from the result files.

Nothing in the report is typed by hand: every number comes from a table under results/, the
published numbers (:mod:`bnnrepro.families.sources`) or the config that produced them. The report
iterates over the family registry: each enabled family contributes its section and its claims.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
from pathlib import Path

import pandas as pd
import yaml

from bnnrepro.errors import ConfigError, DataError
from bnnrepro.families.registry import FAMILIES
from bnnrepro.families.reporting import ClaimResult, Context
from bnnrepro.families.sources import references
from bnnrepro.io import write_csv, write_text
from bnnrepro.report import provenance
from bnnrepro.report.tables import format_value, render

TEMPLATES = Path(__file__).with_name("templates")
#: The tidy claims table beside the report.
CLAIM_COLUMNS = ["claim", "family", "scope", "estimate", "ci_low", "ci_high", "repeats", "threshold", "verdict",
                 "detail", "statement", "citation", "method"]
VERDICT_ORDER = ["held", "did not hold", "inconclusive", "not run"]


def evaluate_claims(context: Context) -> list[dict]:
    """Every claim of every family, one row per scope (a disabled family's claims are "not run")."""
    rows = []
    for family in FAMILIES.values():
        analysis = importlib.import_module(family.analysis)
        for claim in analysis.CLAIMS:
            if not family.enabled(context.config):
                results = [ClaimResult("", "not run", None, "", f"the {family.name} family is disabled in this config")]
            else:
                results = claim.check(context)
            for result in results:
                est = result.estimate
                rows.append({
                    "claim": claim.id, "family": family.name, "scope": result.scope,
                    "estimate": est.estimate if est else None, "ci_low": est.low if est else None,
                    "ci_high": est.high if est else None, "repeats": est.repeats if est else 0,
                    "threshold": result.threshold, "verdict": result.verdict, "detail": result.detail,
                    "statement": claim.statement, "citation": claim.citation,
                    "method": est.method if est else "", "unit": result.unit, "caveat": claim.caveat,
                    "decided_by": claim.decided_by})
    return rows


def _anchor(row: dict, sections: dict) -> str:
    """The figure (or section) of the report that decides a claim."""
    section = sections.get(row["family"])
    if section is None:
        return ""
    if row["decided_by"]:
        scope = row["scope"].split(" ")[0]
        figures = [f for f in section.figures if f.spec.kind == row["decided_by"]]
        for figure in figures:
            if figure.spec.params.get("dataset") in (None, scope):
                return figure.spec.anchor
        if figures:
            return figures[0].spec.anchor
    return section.id


def build(config_path: Path, results: Path, report_dir: Path, out: Path, claims_out: Path, command: str) -> Path:
    import jinja2

    try:
        config = yaml.safe_load(Path(config_path).read_text())
    except FileNotFoundError:
        raise DataError(f"{config_path} is missing; run the workflow first (it writes the resolved config)") from None
    context = Context(config, results, report_dir)
    sections = {}
    for family in FAMILIES.values():
        if family.enabled(config):
            sections[family.name] = importlib.import_module(family.analysis).section(context)
    claims = evaluate_claims(context)
    write_csv(claims_out, pd.DataFrame(claims)[CLAIM_COLUMNS])
    for row in claims:
        row["anchor"] = _anchor(row, sections)
        row["estimate_text"] = format_value(row["estimate"], row["unit"]) if row["estimate"] is not None else ""
        row["interval_text"] = (format_value((row["ci_low"], row["ci_high"]), f"interval_{'pct' if row['unit'] in ('pct', 'pp') else 'num'}")
                                if row["estimate"] is not None else "")
    tally = {v: sum(1 for r in claims if r["verdict"] == v) for v in VERDICT_ORDER}
    rule_times = provenance.rule_times(results / "benchmarks")
    prov = {"git": provenance.git_state(), "packages": provenance.package_versions(),
            "hardware": provenance.hardware(), "command": command, "rule_times": rule_times,
            "total_seconds": float(rule_times["total_seconds"].sum()) if len(rule_times) else 0.0}

    def link(path: str | None) -> str | None:
        return os.path.relpath(results / path, report_dir) if path else None

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(render_table=lambda table: render(table, link(table.csv)), link=link)
    html = env.get_template("index.html.j2").render(
        sections=list(sections.values()), claims=claims, tally=tally, prov=prov, config=config,
        smoke_test=bool(config.get("smoke_test")), references=references(),
        config_yaml=yaml.safe_dump(config, sort_keys=False, width=100),
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    write_text(out, html)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the resolved config (results/config.yaml)")
    parser.add_argument("--results", default="results", help="the results folder")
    parser.add_argument("--report-dir", default="report", help="the report folder")
    parser.add_argument("--out", default=None, help="default: REPORT_DIR/index.html")
    parser.add_argument("--claims", default=None, help="the claims table (default: REPORT_DIR/claims.csv)")
    parser.add_argument("--command", default="snakemake --cores 8 all", help="the command that ran the workflow")


def run(args: argparse.Namespace) -> int:
    report_dir = Path(args.report_dir)
    out = Path(args.out or report_dir / "index.html")
    claims = Path(args.claims or report_dir / "claims.csv")
    if not Path(args.results).is_dir():
        raise ConfigError(f"--results {args.results} is not a folder; give the workflow's results folder")
    build(Path(args.config), Path(args.results), report_dir, out, claims, args.command)
    print(f"wrote {out}")
    return 0
