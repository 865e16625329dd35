"""The report as a reader sees it.

Fast: the cell formats, tables (constant columns said once, paper-vs-ours pivoted), the claim
table's "why" column, the time table, the claims.csv columns and a report built with every family
disabled (single file too). Slow: the ci preset's report opened in headless Chromium at 1400 px
(every image loads, every family's section, the at-a-glance tally and table, every claim row with a
verdict and a working link, no table wider than its container, the smoke-test banner, the SVG and
CSV links resolve; screenshots kept in test-artifacts/), valid JSON everywhere, Snakemake's
native report.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest
import yaml

from bnnrepro import stats
from bnnrepro.families.registry import FAMILIES
from bnnrepro.families.reporting import Col, Table
from bnnrepro.report import build as report_build
from bnnrepro.report.provenance import job_times
from bnnrepro.report.tables import PAPER_VS_OURS, format_value, render
from conftest import ROOT, run_cli, snakemake

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VERDICTS = {"held", "did not hold", "inconclusive", "not run"}
CLAIMS_CSV_COLUMNS = [
    "claim",
    "scope",
    "estimate",
    "ci_low",
    "ci_high",
    "repeats",
    "threshold",
    "comparison",
    "threshold_low",
    "threshold_high",
    "verdict",
    "reason",
    "detail",
    "kind",
    "fidelity",
]


# --- cell formats and tables ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (0.0512, "pct", "5.1%"),
        (0.0512, "pct2", "5.12%"),
        (0.032, "pp", "+3.2 pp"),
        (-0.001, "pp", "-0.1 pp"),
        (12345.4, "int", "12,345"),
        (1.316, "ratio", "1.32x"),
        (0.012345, "ms", "0.0123 ms"),
        (1_500_000, "bytes", "1.50 MB"),
        (15_720, "bytes", "15.7 kB"),
        (1234.5, "num", "1,234"),
        (0.0123456, "num", "0.0123"),
        ("det", "text", "det"),
        (True, "num", "yes"),
        (float("nan"), "pct", ""),
        (None, "num", ""),
        ((0.011, 0.053), "interval_pct", "[1.1, 5.3]%"),
        ((0.5, 2.25), "interval_num", "[0.500, 2.25]"),
        ((float("nan"), 1.0), "interval_num", ""),
        ((-math.inf, math.inf), "interval_num", "unbounded"),
        ((0.25, math.inf), "interval_num", "[0.250, ∞]"),
        ((-math.inf, 0.1), "interval_pct", "[−∞, 10.0]%"),
    ],
)
def test_one_format_per_metric(value, fmt, text):
    assert format_value(value, fmt) == text


def test_constant_columns_are_said_once_and_headers_carry_units():
    frame = pd.DataFrame(
        {"dataset": ["fashion_mnist"] * 2, "labels": ["true", "randY"], "error": [0.1, 0.9], "empty": [None, None]}
    )
    html = render(
        Table("t", frame, {"error": Col("Final error (%)", "pct")}, note="A note.", csv="memo/x.csv"),
        "../results/memo/x.csv",
    )
    assert "In every row: Dataset: fashion_mnist." in html
    assert "<th" in html and "Final error (%)" in html and "Empty" not in html  # an empty column is just dropped
    assert html.count("<tr>") == 3 and ">10.0%<" in html and ">90.0%<" in html
    assert '<a href="../results/memo/x.csv">data (CSV)</a>' in html
    mailed = render(Table("t", frame, csv="memo/x.csv"), "../results/memo/x.csv", inline_paths=True)
    assert "href" not in mailed and "<code>memo/x.csv</code>" in mailed


def _paper_vs_ours() -> pd.DataFrame:
    rows = []
    for b, reg, metric, paper, approx, ours, paper_ds, our_ds, note in [
        ("det", "none", "final train error", 0.0, "~", 0.02, "cifar10", "cifar10", "[1]"),
        ("det", "none", "final test error", 0.906, "", 0.9, "cifar10", "cifar10", "[2]"),
        ("det", "none", "final train error", 0.025, "", 0.02, "svhn", "cifar10", "[3]"),
        ("det", "dropout", "final train error", 0.18, "~", 0.4, "svhn", "cifar10", "[3]"),
    ]:
        same = paper_ds == our_ds
        rows.append(
            dict(
                binarization=b,
                regularization=reg,
                metric=metric,
                paper=paper,
                approx=approx,
                ours=ours,
                difference=ours - paper if same else float("nan"),
                paper_dataset=paper_ds,
                our_dataset=our_ds,
                note=note,
            )
        )
    return pd.DataFrame(rows)


def test_paper_vs_ours_is_pivoted_to_one_row_per_condition():
    frame = _paper_vs_ours()
    assert tuple(frame.columns[-len(PAPER_VS_OURS) :]) == PAPER_VS_OURS
    table = Table(
        "Paper vs this run",
        frame,
        {"paper": Col("Paper", "pct"), "ours": Col("This run", "pct"), "difference": Col("Difference", "pp")},
        footnotes=["[1] Mehta et al. 2017, Sec. 3", "[2] Mehta et al. 2017, Sec. 3", "[3] Fig. 3"],
    )
    html = render(table)
    body = html.split("<tbody>")[1]
    assert body.count("<tr>") == 3  # (det, none, cifar10), (det, none, svhn), (det, dropout, svhn)
    assert html.count('class="group"') == 2 and "Final train error" in html and "Final test error" in html
    assert "~0.0%<sup>1</sup>" in html and "+2.0 pp" in html and "-0.6 pp" in html
    assert "In every row: Binarization: det, Our dataset: cifar10." in html
    assert "<li>Mehta et al. 2017, Sec. 3</li>" in html and "~: read off a figure" in html


def test_why_leaves_out_the_interval_the_columns_show():
    est = stats.Estimate(0.02, 0.01, 0.03, 3, "t-interval over seeds")
    for verdict in (
        stats.verdict_below(est, 0.05),
        stats.verdict_above(est, 0.05),
        stats.verdict_below(est, 0.02),
        stats.verdict_within(est, 0.0, 0.025),
        stats.verdict_within(est, 0.0, 0.005),
        stats.verdict_within(est, 0.0, 0.1),
    ):
        detail = f"{verdict[1]}; final train error after 50 epochs"
        assert report_build.why(detail) == "final train error after 50 epochs", detail
    assert report_build.why("only 1 repeat: too few for an interval; x") == "only 1 repeat: too few for an interval; x"


def test_job_times_per_family_and_step(tmp_path):
    def bench(path, seconds, rss=100.0):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:01\t{rss}\n")

    bench("train/memorization/fashion_mnist/a.tsv", 10, 300)
    bench("train/memorization/fashion_mnist/b.tsv", 30, 200)
    bench("memorization/tables.tsv", 2)
    bench("table/lookup_tables/fashion_mnist/table1.tsv", 5)
    bench("efficiency_inference/fashion_mnist/x.tsv", 4)
    bench("report.tsv", 1)
    (tmp_path / "broken.tsv").write_text("")
    times = job_times(tmp_path, FAMILIES).set_index(["family", "step"])
    assert times.loc[("memorization", "training"), ["jobs", "total_seconds", "max_seconds", "max_rss_mb"]].tolist() == [
        2,
        40.0,
        30.0,
        300.0,
    ]
    assert times.loc[("memorization", "tables"), "jobs"] == 1
    assert ("lookup_tables", "compute") in times.index and ("efficiency", "compute") in times.index
    assert ("workflow", "report") in times.index
    assert list(times.index.get_level_values(0)).index("memorization") == 0


def _all_disabled(tmp_path) -> tuple[Path, Path, Path]:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for name in FAMILIES:
        config.setdefault(name, {})["enabled"] = False
    config["smoke_test"] = True
    results, report = tmp_path / "results", tmp_path / "report"
    results.mkdir()
    report.mkdir()
    (results / "config.yaml").write_text(yaml.safe_dump(config))
    return results / "config.yaml", results, report


def build_command(config: Path, results: Path, report: Path, *options: str) -> subprocess.CompletedProcess:
    """``bnnrepro report build`` of ``results`` into ``report``, with ``options``."""
    return run_cli(
        "report", "build", "--config", str(config), "--results", str(results), "--report-dir", str(report), *options
    )


def test_claims_csv_columns_and_a_report_without_families(tmp_path):
    config, results, report = _all_disabled(tmp_path)
    out = report_build.build(
        config,
        results,
        report,
        report / "index.html",
        report / "claims.csv",
        "snakemake --cores 8 all --configfile x.yaml",
    )
    claims = pd.read_csv(report / "claims.csv")
    assert [c for c in claims.columns if c in CLAIMS_CSV_COLUMNS] == CLAIMS_CSV_COLUMNS
    assert set(claims["verdict"]) == {"not run"} and claims["detail"].str.contains("disabled").all()
    assert len(claims) == sum(len(__import__(f.analysis, fromlist=["CLAIMS"]).CLAIMS) for f in FAMILIES.values())
    html = out.read_text()
    assert 'id="smoke-test"' in html and f"{len(claims)} not run" in html
    assert report_build.earlier_command(out) == "snakemake --cores 8 all --configfile x.yaml"


def test_a_previous_runs_verdicts_beside_this_ones(tmp_path):
    """--previous (or the config's previous_claims): the claim table gains the earlier verdicts."""
    config, results, report = _all_disabled(tmp_path)
    report_build.build(config, results, report, report / "index.html", report / "claims.csv", "x")
    old = pd.read_csv(report / "claims.csv")
    earlier: list[str | float] = ["held", 0.5, 0.25, 0.75]
    old.loc[0, ["verdict", "estimate", "ci_low", "ci_high"]] = earlier
    old = old.iloc[:-1]  # the last claim was not in the earlier run
    old.to_csv(tmp_path / "old.csv", index=False)
    out = report_build.build(config, results, report, report / "index.html", None, "x", previous=tmp_path / "old.csv")
    html = out.read_text()
    assert "<th>Previous run</th>" in html and html.count('<td class="txt previous">') == len(old) + 1
    assert '<span class="verdict held">held</span> 50.0% [25.0, 75.0]%' in html
    assert html.count("not in the previous run") == 1
    plain = report_build.build(config, results, report, report / "plain.html", None, "x").read_text()
    assert "Previous run" not in plain
    proc = build_command(config, results, report, "--previous", str(tmp_path / "nope.csv"))
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_the_claim_checklist_filters_and_sorts_without_external_assets(tmp_path):
    """One row per scope with its verdict and family as data attributes (the inline script filters
    and sorts on them); the tally badges link to the list; nothing is fetched from elsewhere."""
    config, results, report = _all_disabled(tmp_path)
    html = report_build.build(config, results, report, report / "index.html", None, "x").read_text()
    assert 'id="claim-verdict"' in html and 'id="claim-family"' in html and 'id="claim-sort"' in html
    assert "rowspan" not in html.split('<table class="data claims">')[1].split("</table>")[0]
    assert html.count('<tr class="claim-row') == html.count('data-verdict="not run" data-order=')
    assert re.search(r'<a class="verdict not-run" href="#claims" data-verdict="not run"', html)
    assert "<script src" not in html and "<link" not in html and "http://" not in html.split("<main>")[0]


def test_report_lists_the_unchecked_ledger_entries_with_their_reasons(tmp_path):
    from html import unescape

    from bnnrepro.families.sources.ledger import entries

    config, results, report = _all_disabled(tmp_path)
    html = unescape(report_build.build(config, results, report, report / "index.html", None, "x").read_text())
    ledger = entries()
    assert any(not e.checked for e in ledger)
    for entry in ledger:
        listed = f'id="ledger-{entry.id}"' in html
        assert listed == (not entry.checked), entry.id
        if not entry.checked:
            assert entry.why in html and entry.unchecked_reason.label in html


def test_single_file_report_takes_the_command_of_the_earlier_report(tmp_path):
    config, results, report = _all_disabled(tmp_path)
    report_build.build(config, results, report, report / "index.html", report / "claims.csv", "snakemake --cores 2 all")
    proc = build_command(config, results, report, "--single-file")
    assert proc.returncode == 0, proc.stderr
    html = (report / "report-single.html").read_text()
    assert "snakemake --cores 2 all" in html and 'href="claims.csv"' not in html
    bad = run_cli("report", "build", "--config", str(config), "--results", str(tmp_path / "nope"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_the_command_is_the_snakemake_run_the_report_is_a_job_of(tmp_path):
    """The report rule passes no command: the report reads its parent Snakemake's command line."""
    import subprocess
    import sys

    fake = tmp_path / "snakemake"  # stands for Snakemake running the report job through a shell
    fake.write_text(
        f"#!{sys.executable}\nimport subprocess, sys\nsys.exit(subprocess.call(['bash', '-c', "
        f"'{sys.executable} -c \"from bnnrepro.report.provenance import snakemake_command; "
        f"print(snakemake_command())\"']))\n"
    )
    fake.chmod(0o755)
    proc = subprocess.run(
        [str(fake), "--cores", "2", "all", "--configfile", "my config.yaml"], capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip() == "snakemake --cores 2 all --configfile 'my config.yaml'", proc.stderr
    from bnnrepro.report.provenance import snakemake_command

    assert snakemake_command() is None  # pytest is no Snakemake job


def test_the_command_the_workflow_exports_to_its_jobs_comes_first(monkeypatch):
    from bnnrepro.report.provenance import snakemake_command

    monkeypatch.setenv("BNNREPRO_COMMAND", "snakemake --cores 8 all --profile profiles/slurm")
    assert snakemake_command() == "snakemake --cores 8 all --profile profiles/slurm"


# --- the ci preset's report in a browser ------------------------------------------------------------


def _strict_json(text: str):
    def reject(constant):
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=reject)


@pytest.mark.slow
def test_every_json_the_workflow_writes_is_valid(ci_run):
    base, _ = ci_run
    files = sorted(base.rglob("*.json"))
    assert len(files) > 10
    for path in files:
        _strict_json(path.read_text())  # no NaN / Infinity
    html = (base / "report" / "index.html").read_text()
    found = re.search(r'<script type="application/json" id="provenance-data">(.*?)</script>', html, re.S)
    assert found is not None
    block = found.group(1)
    assert _strict_json(block)["command"].startswith("snakemake")


@pytest.mark.slow
def test_claims_csv_of_the_ci_preset(ci_run):
    base, _ = ci_run
    claims = pd.read_csv(base / "report" / "claims.csv")
    assert [c for c in claims.columns if c in CLAIMS_CSV_COLUMNS] == CLAIMS_CSV_COLUMNS
    assert set(claims["verdict"]) <= VERDICTS
    with_estimate = claims[claims["estimate"].notna()]
    assert (with_estimate["repeats"] >= 1).all()


def _resolves(report: Path, href: str) -> bool:
    target = urlparse(href)
    if target.scheme in ("http", "https"):
        return True
    return (report.parent / unquote(target.path)).resolve().is_file()


@pytest.mark.slow
@pytest.mark.browser
def test_report_in_headless_chromium(ci_run):
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: `make system` (or `apt-get install chromium`)")
    from playwright.sync_api import sync_playwright

    base, _ = ci_run
    report = base / "report" / "index.html"
    config = yaml.safe_load((base / "results" / "config.yaml").read_text())
    enabled = [f.name for f in FAMILIES.values() if f.enabled(config)]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(report.as_uri(), wait_until="load")
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])"
        )
        families = page.evaluate("Array.from(document.querySelectorAll('section.family')).map(s => s.dataset.family)")
        tally = page.locator("#glance .tally .verdict").all_inner_texts()
        glance_rows = page.locator("#glance table.glance tbody tr").count()
        rows = page.evaluate("""Array.from(document.querySelectorAll('table.claims tr.claim-row')).map(r => {
            const link = r.querySelector('td.scope a');
            const id = link ? decodeURIComponent(link.getAttribute('href').slice(1)) : null;
            const verdict = r.querySelector('td.verdict').textContent.trim();
            return [verdict, id, id !== null && document.getElementById(id) !== null];
        })""")
        overflowing = page.evaluate(LAYOUT_CHECK)["unboxed"]  # wider than its box, and the box does not scroll
        page_width = page.evaluate("document.documentElement.scrollWidth")
        ids = page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
        banner = page.locator("#smoke-test").is_visible()
        svg_links = page.evaluate(
            "Array.from(document.querySelectorAll('figure a.svg')).map(a => a.getAttribute('href'))"
        )
        csv_links = page.evaluate("""Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))
            .filter(h => h && h.endsWith('.csv'))""")
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        page.locator("#glance").screenshot(path=str(ARTIFACTS / "report-glance.png"))
        page.locator("#claims").screenshot(path=str(ARTIFACTS / "report-claims.png"))
        # the tally badges filter the checklist; the selects filter and sort it
        first = page.locator("#glance .tally a[data-verdict]").first
        wanted = first.get_attribute("data-verdict")
        first.click()
        shown = page.evaluate("""Array.from(document.querySelectorAll('table.claims tr.claim-row'))
            .filter(r => !r.hidden).map(r => r.dataset.verdict)""")
        filtered = (wanted, shown, int(first.inner_text().split(" ", 1)[0]))
        page.select_option("#claim-verdict", "")
        page.select_option("#claim-sort", "verdict")
        sorted_verdicts = page.evaluate(  # one table per kind of claim, each sorted on its own
            """Array.from(document.querySelectorAll('table.claims')).map(
                t => Array.from(t.querySelectorAll('tr.claim-row')).map(r => r.dataset.verdict))"""
        )
        narrow = {}
        for width in (1024, 800):
            page.set_viewport_size({"width": width, "height": 1000})
            narrow[width] = page.evaluate(LAYOUT_CHECK)
            page.screenshot(path=str(ARTIFACTS / f"report-{width}.png"), full_page=True)
        browser.close()
    assert errors == []
    assert len(images) >= 10 and [src for src, ok in images if not ok] == []
    assert families == enabled and len(enabled) == len(FAMILIES)
    assert len(tally) == 4 and {t.split(" ", 1)[1] for t in tally} == VERDICTS
    assert sum(int(t.split(" ", 1)[0]) for t in tally) == len(rows) > 0
    assert glance_rows >= 2 * len(enabled)
    assert [r for r in rows if r[0] not in VERDICTS] == []
    assert [r for r in rows if not r[2]] == [], "claims whose scope link goes nowhere"
    assert overflowing == [] and page_width <= 1400
    assert sorted({i for i in ids if ids.count(i) > 1}) == []  # every link target is unique
    assert banner
    assert len(svg_links) == len(images) and all(_resolves(report, h) for h in svg_links)
    assert len(csv_links) >= 10 and [h for h in csv_links if not _resolves(report, h)] == []
    assert (ARTIFACTS / "report.png").stat().st_size > 100_000
    assert filtered[1] and set(filtered[1]) == {filtered[0]} and len(filtered[1]) == filtered[2]
    order = ["held", "did not hold", "inconclusive", "not run"]
    assert len(sorted_verdicts) >= 2 and all(v == sorted(v, key=order.index) for v in sorted_verdicts)
    for width, layout in narrow.items():
        # no page-level horizontal scroll: what is wider than the page scrolls in its own box
        assert layout["page"] <= width, (width, layout)
        assert layout["unboxed"] == [], (width, layout["unboxed"])
        assert layout["sticky"] == "sticky"  # the claim column stays in view while the table scrolls
        # every figure inside the viewport, of non-zero size
        assert layout["figures"] and [f for f in layout["figures"] if not f["ok"]] == [], (width, layout["figures"])


#: The layout at the current width: the page's width, tables wider than their box whose box does not
#: scroll, the claim column's position, and every figure's box.
LAYOUT_CHECK = """() => ({
    page: document.documentElement.scrollWidth,
    unboxed: Array.from(document.querySelectorAll('table')).filter(t => {
        const box = t.parentElement;
        return t.scrollWidth > box.clientWidth + 1 && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
    }).map(t => t.querySelector('tr').textContent.slice(0, 60)),
    sticky: getComputedStyle(document.querySelector('table.claims td.statement')).position,
    figures: Array.from(document.querySelectorAll('figure img')).map(img => {
        const r = img.getBoundingClientRect();
        return {src: img.getAttribute('src').slice(0, 60), left: r.left, right: r.right,
                width: r.width, height: r.height, ok: r.width > 0 && r.height > 0 && r.left >= 0
                    && r.right <= document.documentElement.clientWidth + 1};
    }),
})"""


@pytest.mark.slow
def test_report_numbers_and_provenance_come_from_the_run(ci_run):
    """Every final error in the memorization table is the one in its conditions CSV; the report
    names the commit and the command Snakemake ran."""
    base, _ = ci_run
    html = (base / "report" / "index.html").read_text()
    conditions = pd.read_csv(base / "results" / "memorization" / "conditions.csv")
    for value in conditions["final_test_error"]:
        assert f">{100 * value:.1f}%<" in html
    assert re.search(r"Commit <code>[0-9a-f]{40}</code>", html)
    assert "snakemake --cores 2 all --configfile workflow/configs/ci.yaml" in html


@pytest.mark.slow
def test_snakemake_native_report_builds(ci_run):
    base, args = ci_run
    out = base / "snakemake-report.html"
    proc = snakemake("--report", str(out), *args, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text(errors="replace")
    assert out.stat().st_size > 50_000 and "<html" in text.lower()
    # captions are reStructuredText: none renders a docutils error (|w| once read as a substitution)
    assert "Undefined substitution" not in text and "system-message" not in text
    assert "ERROR/" not in proc.stderr and "docutils" not in proc.stderr.lower()


def test_native_report_captions_render_without_docutils_errors():
    """Snakemake's report reads the captions as reStructuredText: |w| would be an undefined
    substitution; escaped once (generated.rst_escape), every caption renders as written."""
    import io

    import docutils.core

    from bnnrepro.workflow import generated

    assert generated.rst_escape("|w| > 0.9, *x*, a_b_, [1]_") == r"\|w\| \> 0.9, \*x\*, a\_b\_, \[1\]\_"
    for name, text in generated.captions().items():
        errors = io.StringIO()
        docutils.core.publish_string(
            text, writer_name="html", settings_overrides={"warning_stream": errors, "report_level": 2}
        )
        assert errors.getvalue() == "", (name, errors.getvalue())
    rendered = docutils.core.publish_string(generated.rst_escape("weights with |w| > 0.9"), writer_name="html")
    assert "|w| &gt; 0.9" in rendered.decode()


def test_wall_time_per_family_and_in_total_from_snakemakes_job_records(tmp_path):
    """The time during which at least one job ran: overlaps once, gaps between sessions not at all,
    in-process `run:` jobs (whose start stamp can be an earlier session's) left out."""
    import base64

    def record(output, start, end, shellcmd="python -m bnnrepro x"):
        name = base64.urlsafe_b64encode(output.encode()).decode()
        path = tmp_path / ".snakemake" / "metadata" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"starttime": start, "endtime": end, "shellcmd": shellcmd}))

    record("results/memorization/fashion_mnist/chunks/a.json", 100, 160)
    record("results/memorization/fashion_mnist/chunks/b.json", 130, 190)  # overlaps a: 90 s in all
    record("report/figures/memorization/curves.png", 1000, 1010)  # another session: +10 s, no gap
    record("results/kernels/blocks.csv", 150, 200)
    record("results/config.yaml", 0, 5000, shellcmd=None)  # a run: job, left out
    record("elsewhere/x.csv", 0, 9000)  # not under these results
    walls = provenance_wall_times(tmp_path)
    assert walls == {"memorization": 100.0, "kernels": 50.0, "total": 110.0}
    assert provenance_wall_times(tmp_path / "none") == {}


def provenance_wall_times(root):
    from bnnrepro.report.provenance import wall_times

    return wall_times(Path("results"), Path("report"), list(FAMILIES), root=root)


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0.5, 1.05, [0.5, 0.7, 1.0]),  # the efficiency ratios: not a lone 1x
        (0.9, 3.8, [1.0, 1.5, 2.0, 3.0]),  # the kernel speedups: ticked up to the top point's decade part
        (0.03, 1.1, [0.05, 0.1, 0.2, 0.5, 1.0]),
        (0.001, 1000, [0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]),
    ],
)
def test_log_axes_are_ticked_over_their_data(low, high, ticks):
    from bnnrepro.families.figures import log_ticks

    assert log_ticks(low, high) == ticks


def test_counts_in_the_right_number():
    from bnnrepro.families.base import count, count_of

    assert [count(1, "thread"), count(2, "thread"), count(0, "seed")] == ["1 thread", "2 threads", "0 seeds"]
    assert [count_of(1, "seeds"), count_of(3, "label draws"), count_of(1, "runs")] == [
        "1 seed",
        "3 label draws",
        "1 run",
    ]
