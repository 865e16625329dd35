"""``bnnrepro report build``: render the HTML report and ``claims.csv`` from the result files.

Nothing in the report is typed by hand: every number comes from a table under results/, the
published numbers (:mod:`bnnrepro.families.sources`) or the config that produced them. The report
iterates over the family registry: each enabled family contributes its section and its claims.
``--single-file`` writes the same report as one self-contained file (figures inlined, the CSVs
named instead of linked) that can be mailed.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import importlib
import json
import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bnnrepro import stats
from bnnrepro.errors import ConfigError, DataError
from bnnrepro.families.registry import FAMILIES
from bnnrepro.families.reporting import Claim, ClaimKind, ClaimResult, Context
from bnnrepro.families.sources import ledger as claims_ledger
from bnnrepro.families.sources import references
from bnnrepro.io import json_safe, write_csv, write_text
from bnnrepro.report import provenance
from bnnrepro.report.tables import format_value, render

TEMPLATES = Path(__file__).with_name("templates")
#: The tidy claims table beside the report.
CLAIM_COLUMNS = [
    "claim",
    "family",
    "scope",
    "estimate",
    "ci_low",
    "ci_high",
    "repeats",
    "threshold",
    "comparison",
    "threshold_low",
    "threshold_high",
    "threshold_source",
    "verdict",
    "reason",
    "detail",
    "kind",
    "fidelity",
    "statement",
    "citation",
    "method",
]
VERDICT_ORDER = ["held", "did not hold", "inconclusive", "not run"]
#: The checklist's part for each kind of claim.
KIND_HEADINGS = {
    str(ClaimKind.PUBLISHED): "Published claims",
    str(ClaimKind.SANITY): "Sanity checks of the pipeline",
    str(ClaimKind.NOT_LIKE_FOR_LIKE): "Claims this machine cannot test like for like",
}
#: A kind counted in the at-a-glance sentence: (one, several).
KIND_COUNTED = {
    str(ClaimKind.PUBLISHED): ("published claim", "published claims"),
    str(ClaimKind.SANITY): ("sanity check", "sanity checks"),
    str(ClaimKind.NOT_LIKE_FOR_LIKE): ("claim not like for like", "claims not like for like"),
}
#: Claims not yet built with :func:`bnnrepro.families.reporting.result` start their detail with the
#: verdict's reason ("95% interval [a, b] lies below 0.05; ..."); for them only, the reason is split
#: off the detail here. Claims built from a Judgement carry reason and detail as separate fields.
VERDICT_REASON = re.compile(
    r"^\d+(\.\d+)?% interval \[[^\]]*\] (lies (at or )?(below|above|inside|outside)|straddles"
    r"|overlaps the edge of) (\[[^\]]*\]|[^;\s]+)(; |$)"
)
#: The command when neither the caller nor an earlier report names it.
UNKNOWN_COMMAND = "unknown (the report was not built by the workflow)"


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
                rows.append(claim_row(claim, family.name, result))
    return rows


def claim_row(claim: Claim, family: str, result: ClaimResult) -> dict:
    """One row of claims.csv: every number and text as its own field, read from the judgement."""
    est, judgement = result.estimate, result.judgement
    if judgement is not None:
        threshold = judgement.threshold
        numbers = {
            "comparison": str(threshold.comparison),
            "threshold_low": threshold.low,
            "threshold_high": threshold.high,
            "threshold_source": threshold.source,
        }
        reason, detail = judgement.reason, result.detail
    else:  # a claim check not yet ported to the judgement toolkit
        numbers = {"comparison": "", "threshold_low": None, "threshold_high": None, "threshold_source": ""}
        match = VERDICT_REASON.match(result.detail)
        reason = match.group(0).rstrip("; ") if match else ""
        detail = why(result.detail)
    return {
        "claim": claim.id,
        "family": family,
        "scope": result.scope,
        "estimate": est.estimate if est else None,
        "ci_low": est.low if est else None,
        "ci_high": est.high if est else None,
        "repeats": est.repeats if est else 0,
        "threshold": result.threshold,
        **numbers,
        "verdict": str(result.verdict),
        "reason": reason,
        "detail": detail,
        "kind": str(getattr(claim, "kind", ClaimKind.PUBLISHED)),
        "fidelity": result.fidelity or getattr(claim, "fidelity", ""),
        "statement": claim.statement,
        "citation": claim.citation,
        "method": est.method if est else "",
        "unit": result.unit,
        "caveat": claim.caveat,
        "decided_by": claim.decided_by,
    }


def why(detail: str) -> str:
    """A claim's detail for the report's table: without the verdict's restatement of the interval."""
    return VERDICT_REASON.sub("", detail, count=1).strip()


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


def read_previous(path: Path) -> dict[tuple[str, str], dict]:
    """An earlier run's claims.csv, keyed by (claim, scope)."""
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--previous {path}: cannot read it as a claims.csv ({exc})") from None
    missing = {"claim", "scope", "verdict", "estimate", "ci_low", "ci_high"} - set(frame.columns)
    if missing:
        raise ConfigError(f"--previous {path}: not a claims.csv (no column {', '.join(sorted(missing))})")
    frame["scope"] = ["" if pd.isna(s) else str(s) for s in frame["scope"]]
    return {(str(r["claim"]), r["scope"]): r for r in frame.to_dict("records")}


def claim_groups(claims: list[dict], sections: dict, previous: Mapping | None = None) -> list[dict]:
    """The claims table of the report: one group per claim (its statement shown once), one row per
    scope with the link to the figure or section that decides it, the formatted numbers and, given
    an earlier run's claims (``previous``), that run's verdict and estimate for the same scope."""
    groups: list[dict] = []
    for row in claims:
        row = dict(row)
        row["anchor"] = _anchor(row, sections)
        row["estimate_text"], row["interval_text"] = estimate_texts(
            row["estimate"], row["ci_low"], row["ci_high"], row["unit"]
        )
        row["why"] = row["detail"]
        old = (previous or {}).get((row["claim"], row["scope"] or ""))
        row["previous"] = None
        if old:
            texts = estimate_texts(old["estimate"], old["ci_low"], old["ci_high"], row["unit"])
            row["previous"] = {"verdict": old["verdict"], "estimate_text": texts[0], "interval_text": texts[1]}
        if groups and groups[-1]["claim"] == row["claim"]:
            groups[-1]["rows"].append(row)
        else:
            groups.append(
                {
                    "claim": row["claim"],
                    "statement": row["statement"],
                    "citation": row["citation"],
                    "caveat": row["caveat"],
                    "kind": row["kind"],
                    "rows": [row],
                }
            )
    return groups


def ledger_summary() -> dict:
    """The claims ledger for the report: its size, how many statements a claim checks, and the
    unchecked entries (by reason)."""
    entries = claims_ledger.entries()
    return {
        "total": len(entries),
        "checked": sum(e.checked for e in entries),
        "unchecked": claims_ledger.unchecked(entries),
    }


def estimate_texts(estimate: float | None, low: float | None, high: float | None, unit: str) -> tuple[str, str]:
    """The estimate and its interval as the checklist shows them, at one precision chosen so that
    the shown estimate lies inside the shown interval (:func:`bnnrepro.stats.display_decimals`)."""
    if estimate is None or pd.isna(estimate):
        return "", ""
    quantity = unit if unit in stats.UNITS else "num"
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return format_value(estimate, unit), ""
    low, high = float(low), float(high)
    if math.isinf(low) and math.isinf(high):
        return format_value(estimate, unit), "unbounded"
    if quantity == "num" and unit != "num":  # units without a fixed precision (ms, int, ...)
        return format_value(estimate, unit), format_value((low, high), "interval_num")
    digits = stats.display_decimals(float(estimate), low, high, quantity)
    ends = [stats.format_quantity(v, "num" if quantity == "ratio" else quantity, digits) for v in (low, high)]
    if quantity in ("pct", "pp"):
        ends = [e.replace("%", "").replace(" pp", "").lstrip("+") for e in ends]
    suffix = {"pct": "%", "pp": " pp", "ratio": "x"}.get(quantity, "")
    return stats.format_quantity(float(estimate), quantity, digits), f"[{ends[0]}, {ends[1]}]{suffix}"


def glance_groups(sections: list) -> list[dict]:
    """The at-a-glance table: per family, its "paper" and "this run" rows."""
    return [{"section": s, "rows": s.glance} for s in sections if s.glance]


def _data_uri(path: Path) -> str:
    kind = {".png": "image/png", ".svg": "image/svg+xml"}.get(path.suffix, "application/octet-stream")
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def earlier_command(report: Path) -> str | None:
    """The workflow command recorded in an earlier report's provenance block, if any."""
    try:
        text = report.read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r'<script type="application/json" id="provenance-data">(.*?)</script>', text, re.S)
    if not match:
        return None
    try:
        return json.loads(match.group(1)).get("command")
    except ValueError:
        return None


def _read_config(path: Path) -> dict:
    """The resolved config (results/config.yaml): a mapping, or one line naming the file (and line)."""
    try:
        config = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path} is missing; run the workflow first (it writes the resolved config)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{where}: not valid YAML ({problem}); give the workflow's resolved config") from None
    if not isinstance(config, dict):
        raise ConfigError(
            f"{path}: the config must be a mapping of keys (results:, memorization:, ...), not a "
            f"{type(config).__name__}; give the workflow's resolved config (results/config.yaml)"
        )
    return config


def build(
    config_path: Path,
    results: Path,
    report_dir: Path,
    out: Path,
    claims_out: Path | None,
    command: str,
    single_file: bool = False,
    previous: Path | None = None,
) -> Path:
    """Render the report of ``results`` into ``out`` (and the claims table into ``claims_out``);
    ``previous``: an earlier run's claims.csv, whose verdicts the claim table shows beside these."""
    import jinja2

    config = _read_config(Path(config_path))
    previous = previous or config.get("previous_claims")  # --previous, else the config's previous_claims
    if previous and not Path(previous).is_file():
        raise ConfigError(f"previous_claims {previous}: no such file (give an earlier run's claims.csv)")
    earlier = read_previous(Path(previous)) if previous else None
    context = Context(config, results, report_dir)
    sections = {}
    for family in FAMILIES.values():
        if family.enabled(config):
            sections[family.name] = importlib.import_module(family.analysis).section(context)
    claims = evaluate_claims(context)
    if claims_out is not None:
        write_csv(claims_out, pd.DataFrame(claims)[CLAIM_COLUMNS])
    tally = {v: sum(1 for r in claims if r["verdict"] == v) for v in VERDICT_ORDER}
    kind_tally = {
        str(kind): {v: sum(1 for r in claims if r["verdict"] == v and r["kind"] == kind) for v in VERDICT_ORDER}
        for kind in ClaimKind
    }
    times = provenance.job_times(results / "benchmarks", FAMILIES)
    walls = provenance.wall_times(results, report_dir, FAMILIES)
    if len(times) and walls:
        times["wall_seconds"] = [
            walls.get(f) if i == 0 else None for f, i in zip(times["family"], times.groupby("family").cumcount())
        ]
    prov: dict[str, Any] = {
        "git": provenance.git_state(),
        "packages": provenance.package_versions(),
        "hardware": provenance.hardware(),
        "command": command,
        "job_times": times,
        "total_seconds": float(times["total_seconds"].sum()) if len(times) else 0.0,
        "wall_seconds": walls.get("total"),
    }
    out_dir = Path(out).parent

    def link(path: str | None) -> str | None:
        """A file under the results, relative to the page (None in a single file: it is named instead)."""
        return os.path.relpath(results / path, out_dir) if path and not single_file else None

    def figure_src(path: str) -> str:
        return _data_uri(report_dir / path) if single_file else os.path.relpath(report_dir / path, out_dir)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        render_table=lambda table: render(
            table, os.path.relpath(results / table.csv, out_dir) if table.csv else None, inline_paths=single_file
        ),
        link=link,
        figure_src=figure_src,
        duration=duration,
    )
    machine = {
        "command": command,
        "commit": prov["git"]["commit"],
        "dirty": prov["git"]["dirty"],
        "tally": tally,
        "kind_tally": kind_tally,
        "hardware": prov["hardware"],
        "packages": prov["packages"],
    }
    html_text = env.get_template("index.html.j2").render(
        sections=list(sections.values()),
        family_sections=list(sections.items()),
        claim_groups=claim_groups(claims, sections, earlier),
        previous=str(previous) if previous else "",
        claim_kinds=[str(kind) for kind in ClaimKind],
        kind_headings=KIND_HEADINGS,
        kind_counted=KIND_COUNTED,
        tally=tally,
        kind_tally=kind_tally,
        prov=prov,
        config=config,
        glance=glance_groups(list(sections.values())),
        single_file=single_file,
        claims_link=None if single_file or claims_out is None else os.path.relpath(claims_out, out_dir),
        smoke_test=bool(config.get("smoke_test")),
        references=references(),
        ledger=ledger_summary(),
        config_yaml=yaml.safe_dump(config, sort_keys=False, width=100),
        provenance_json=json.dumps(json_safe(machine), sort_keys=True, allow_nan=False).replace("</", "<\\/"),
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    write_text(out, html_text)
    return out


def duration(seconds: float) -> str:
    """Seconds as a reader wants them: 42 s, 3.5 min, 2.1 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the resolved config (results/config.yaml)")
    parser.add_argument("--results", default="results", help="the results folder")
    parser.add_argument("--report-dir", default="report", help="the report folder (the figures are under it)")
    parser.add_argument(
        "--out", default=None, help="default: REPORT_DIR/index.html (with --single-file: REPORT_DIR/report-single.html)"
    )
    parser.add_argument(
        "--claims",
        default=None,
        help="the claims table (default: REPORT_DIR/claims.csv; not written with --single-file)",
    )
    parser.add_argument(
        "--command",
        default=None,
        help="the command that ran the workflow (default: the Snakemake run this is a job of, "
        "else the one REPORT_DIR/index.html records)",
    )
    parser.add_argument(
        "--previous",
        default=None,
        metavar="CLAIMS_CSV",
        help="an earlier run's claims.csv: its verdicts and estimates shown beside this run's",
    )
    parser.add_argument(
        "--single-file",
        action="store_true",
        help="one self-contained HTML file to mail: figures inlined, the CSVs named instead of linked",
    )


def run(args: argparse.Namespace) -> int:
    report_dir = Path(args.report_dir)
    if not Path(args.results).is_dir():
        raise ConfigError(f"--results {args.results} is not a folder; give the workflow's results folder")
    if not report_dir.is_dir():
        raise ConfigError(
            f"--report-dir {args.report_dir} is not a folder; run the workflow first (it draws the figures there)"
        )
    if args.single_file:
        out = Path(args.out or report_dir / "report-single.html")
        claims = Path(args.claims) if args.claims else None
    else:
        out = Path(args.out or report_dir / "index.html")
        claims = Path(args.claims or report_dir / "claims.csv")
    # the command: given, else the Snakemake run this is a job of, else the one an earlier report records
    command = (
        args.command or provenance.snakemake_command() or earlier_command(report_dir / "index.html") or UNKNOWN_COMMAND
    )
    if args.previous and not Path(args.previous).is_file():
        raise ConfigError(f"--previous {args.previous}: no such file (give an earlier run's claims.csv)")
    build(
        Path(args.config),
        Path(args.results),
        report_dir,
        out,
        claims,
        command,
        single_file=args.single_file,
        previous=Path(args.previous) if args.previous else None,
    )
    print(f"wrote {out}")
    return 0


class Check:
    """``bnnrepro report check FILE...``: each file against its seal (its bytes, and the files it was
    built from); the workflow runs it on the report and claims.csv, so that an edited one is named."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="sealed files (written by bnnrepro)")
        parser.add_argument("--out", metavar="FILE", help="write the verified files and their SHA-256 here")

    def run(self, args: argparse.Namespace) -> int:
        from bnnrepro.io import file_digest, verify

        for path in args.files:
            verify(path)
        lines = [f"{file_digest(path)}  {path}" for path in args.files]
        if args.out:
            write_text(args.out, "\n".join(lines) + "\n")
        print(f"{len(lines)} file(s) verified", file=sys.stderr)
        return 0


check = Check()
