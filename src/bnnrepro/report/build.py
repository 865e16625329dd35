"""Render report/index.html from the result files (jinja2). Nothing in it is typed by hand: every
number comes from a results CSV, the published-numbers file or the config that produced them."""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from bnnrepro.errors import ConfigError
from bnnrepro.io import read_csv, write_text
from bnnrepro.report import provenance

TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class Figure:
    src: str  # relative to the report folder
    caption: str


@dataclass
class Table:
    title: str
    frame: pd.DataFrame
    note: str = ""
    percent: tuple[str, ...] = ()  # columns shown as percentages

    def html(self) -> str:
        frame = self.frame.copy()
        formatters = {}
        for col in frame.columns:
            if col in self.percent:
                formatters[col] = lambda v: "" if pd.isna(v) else f"{100 * v:.1f}%"
            elif pd.api.types.is_float_dtype(frame[col]):
                formatters[col] = lambda v: "" if pd.isna(v) else (f"{v:.4g}" if abs(v) < 1e5 else f"{v:,.0f}")
        return frame.to_html(index=False, border=0, classes="data", formatters=formatters, na_rep="",
                             escape=True)


@dataclass
class Section:
    id: str
    title: str
    intro: str  # HTML, fixed text of the template (what the experiment is), no numbers
    settings: str = ""  # the settings the numbers were made with, from the config
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Context:
    """What the section builders read: the resolved config and the results/report folders."""

    def __init__(self, config: dict, results: Path, report_dir: Path):
        self.config, self.results, self.report_dir = config, results, report_dir

    def family(self, name: str) -> dict:
        return self.config.get(name, {})

    def enabled(self, name: str) -> bool:
        return bool(self.family(name).get("enabled", False))

    def csv(self, relative: str, **kwargs) -> pd.DataFrame:
        path = self.results / relative
        if not path.is_file():
            raise ConfigError(f"report input {path} is missing; run the workflow (`snakemake --cores 8 all`) first")
        return read_csv(path, **kwargs)

    def figure(self, relative: str, caption: str) -> Figure:
        path = self.report_dir / relative
        if not path.is_file():
            raise ConfigError(f"figure {path} is missing; run the workflow first")
        return Figure(relative, caption)


def settings_text(settings: dict) -> str:
    keys = ("arch", "hidden", "width", "mode", "train_size", "test_size", "epochs", "batch_size",
            "lr_start", "lr_end", "loss", "dropout", "l2")
    parts = [f"{k}={settings[k]}" for k in keys if k in settings]
    return ", ".join(parts)


def render(sections: list[Section], context: Context, claims: pd.DataFrame | None, prov: dict) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.get_template("index.html.j2")
    return template.render(sections=sections, claims=claims, prov=prov, config=context.config,
                           config_yaml=yaml.safe_dump(context.config, sort_keys=False, width=100),
                           generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def build(config_path: Path, results: Path, report_dir: Path, out: Path, configfiles: list[str],
          repo: Path) -> Path:
    from bnnrepro.report.sections import SECTION_BUILDERS

    config = yaml.safe_load(Path(config_path).read_text())
    context = Context(config, results, report_dir)
    sections = [s for build_section in SECTION_BUILDERS if (s := build_section(context)) is not None]
    from bnnrepro.report.claims import evaluate_claims

    claims = evaluate_claims(context)
    command = "snakemake --cores 8 all" + "".join(f" --configfile {c}" for c in configfiles if c != "config.yaml")
    prov = {"git": provenance.git_state(repo), "packages": provenance.package_versions(),
            "hardware": provenance.hardware(), "command": command,
            "rule_times": provenance.rule_times(results / "benchmarks"), "configfiles": configfiles}
    prov["total_seconds"] = float(prov["rule_times"]["total_seconds"].sum()) if len(prov["rule_times"]) else 0.0
    prov["rule_times_html"] = Table("", prov["rule_times"]).html()
    write_text(out, render(sections, context, claims, prov))
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the resolved config (results/config.yaml)")
    parser.add_argument("--results", default="results")
    parser.add_argument("--report-dir", default="report")
    parser.add_argument("--out", default=None, help="default: REPORT_DIR/index.html")
    parser.add_argument("--configfile", action="append", default=[], help="config files the run used (for the rerun command)")
    parser.add_argument("--repo", default=".", help="the project checkout (for the git commit)")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out or os.path.join(args.report_dir, "index.html"))
    build(Path(args.config), Path(args.results), Path(args.report_dir), out, args.configfile, Path(args.repo))
    print(f"wrote {out}")
    return 0


def escape(text: str) -> str:
    return html.escape(text)
