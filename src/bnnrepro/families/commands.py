"""The verbs every family has: ``bnnrepro <family> tables`` and ``bnnrepro <family> figures``.

Both take the family's config section as JSON (the workflow passes it as a rule parameter, so a
change of the section reruns them) and the results / report folders; the output paths come from
the family's declaration, the same function the workflow rules read them from.
"""

from __future__ import annotations

import argparse
import importlib
import json
from typing import TYPE_CHECKING

from bnnrepro.errors import ConfigError

if TYPE_CHECKING:
    from types import ModuleType

    from bnnrepro.families.base import Family
    from bnnrepro.families.reporting import Context


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--section",
        required=True,
        metavar="JSON",
        help="the family's config section (as the workflow's resolved config has it)",
    )
    parser.add_argument("--results", default="results", metavar="DIR", help="the results folder (default: results)")
    parser.add_argument("--report-dir", default="report", metavar="DIR", help="the report folder (default: report)")


def context_of(args: argparse.Namespace) -> tuple[Family, ModuleType, Context]:
    from bnnrepro.families.registry import get
    from bnnrepro.families.reporting import Context

    family = get(args.family)
    try:
        section = json.loads(args.section)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--section is not valid JSON ({exc})") from None
    if not isinstance(section, dict):
        raise ConfigError("--section must be a JSON object (the family's config section)")
    config = {family.name: section, "results": args.results, "report_dir": args.report_dir}
    return family, importlib.import_module(family.analysis), Context(config, args.results, args.report_dir)


class Tables:
    """``bnnrepro <family> tables``: aggregate the family's runs (chunk manifests) or job outputs
    into its tidy tables."""

    help = "aggregate the family's runs into its tables (tidy CSV)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _common(parser)
        parser.add_argument(
            "inputs", nargs="*", metavar="INPUT", help="chunk manifests and other inputs written by the family's jobs"
        )

    def run(self, args: argparse.Namespace) -> int:
        _, analysis, context = context_of(args)
        analysis.make_tables(context, args.inputs)
        return 0


class Figures:
    """``bnnrepro <family> figures``: draw the family's figures from its tables."""

    help = "draw the family's figures (PNG and SVG) from its tables"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _common(parser)

    def run(self, args: argparse.Namespace) -> int:
        _, analysis, context = context_of(args)
        analysis.make_figures(context)
        return 0


tables = Tables()
figures = Figures()
