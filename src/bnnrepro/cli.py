"""The ``bnnrepro`` command line: one registry of commands, ``<group> <verb>``.

Every command is an object (or a module) with ``add_arguments(parser)`` and ``run(args) -> int``,
named in :func:`registry` by ``"module:object"`` (or ``"module"``) and imported only when called,
so that ``bnnrepro --help`` and usage errors answer at once (no torch, pandas or Triton). Families contribute ``<family>
tables``, ``<family> figures`` and their own verbs from their declarations. One error handler
turns bad input (settings, data, result files, output paths) into one line and exit status 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import importlib
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

from bnnrepro import __version__
from bnnrepro.errors import BnnreproError

DESCRIPTION = (
    "Regenerate, check and extend the study of memorization in binarized neural networks. The whole "
    "study runs with `snakemake --cores 8 all`; these commands are its building blocks."
)


@dataclass(frozen=True)
class Entry:
    path: tuple[str, ...]
    target: str  # "module:object"
    help: str


def registry() -> list[Entry]:
    from bnnrepro.families.registry import FAMILIES

    entries = [
        Entry(("train",), "bnnrepro.train.command", "train one run, or a chunk of runs, and write its metrics"),
        Entry(("data", "fetch"), "bnnrepro.data.commands:fetch", "locate, verify and (if missing) download datasets"),
        Entry(
            ("data", "info"), "bnnrepro.data.commands:info", "where each dataset's files are and whether they verify"
        ),
        Entry(
            ("model", "summary"),
            "bnnrepro.train.tools:summary",
            "binary vs float parameters and packed size of a model",
        ),
        Entry(
            ("model", "bench"),
            "bnnrepro.train.tools:bench",
            "seconds per training epoch: BNN vs float MLP, interleaved",
        ),
    ]
    for family in FAMILIES.values():
        entries.append(
            Entry(
                (family.name, "tables"),
                "bnnrepro.families.commands:tables",
                "aggregate the family's runs into its tables (tidy CSV)",
            )
        )
        entries.append(
            Entry(
                (family.name, "figures"),
                "bnnrepro.families.commands:figures",
                "draw the family's figures (PNG and SVG) from its tables",
            )
        )
        entries += [
            Entry((family.name, verb), target, help_text) for verb, (target, help_text) in family.commands.items()
        ]
    entries += [
        Entry(("report", "build"), "bnnrepro.report.build", "render the HTML report from the result files"),
        Entry(("compare",), "bnnrepro.report.compare", "which claim verdicts and estimates moved between two runs"),
        Entry(
            ("report", "check"),
            "bnnrepro.report.build:check",
            "verify result files against their seals (and what they were built from)",
        ),
        Entry(("config", "check"), "bnnrepro.workflow.config:command", "check a workflow config before running it"),
        Entry(
            ("plan",),
            "bnnrepro.workflow.plan.command:command",
            "estimate a config's wall time per family and what would rerun",
        ),
        Entry(
            ("generate",),
            "bnnrepro.workflow.generated",
            "regenerate the files derived from the code (settings schema, report captions)",
        ),
    ]
    return entries


GROUP_HELP = {
    "data": "fetch and inspect datasets",
    "model": "inspect and benchmark models",
    "report": "the HTML report",
    "config": "the workflow's configuration",
}


def _usage(entries: list[Entry]) -> str:
    lines = ["usage: bnnrepro [--version] COMMAND [ARGS]", "", DESCRIPTION, "", "commands:"]
    for entry in entries:
        lines.append(f"  {' '.join(entry.path):<28} {entry.help}")
    lines += ["", "`bnnrepro COMMAND --help` shows a command's options."]
    return "\n".join(lines)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the error format of the rest of the CLI (message + hint, exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n(run `{self.prog} --help` for the options)\n")


def _group_help(group: str) -> str:
    from bnnrepro.families.registry import FAMILIES

    if group in FAMILIES:
        family = FAMILIES[group]
        return f"{family.title} ({family.source}): the experiment family's steps"
    return GROUP_HELP.get(group, "")


def _find(argv: list[str], entries: list[Entry]) -> tuple[Entry | None, list[str]]:
    for entry in sorted(entries, key=lambda e: -len(e.path)):
        if tuple(argv[: len(entry.path)]) == entry.path:
            return entry, argv[len(entry.path) :]
    return None, argv


def _unknown(argv: list[str], entries: list[Entry]) -> int:
    groups = {e.path[0] for e in entries}
    if argv[0] in groups:
        verbs = [e for e in entries if e.path[0] == argv[0]]
        asked_help = len(argv) == 1 or argv[1] in ("-h", "--help")
        out = sys.stdout if asked_help and len(argv) > 1 else sys.stderr
        if not asked_help or len(argv) == 1:
            given = f"unknown action {argv[1]!r}" if len(argv) > 1 else "missing action"
            print(
                f"bnnrepro {argv[0]}: error: {given}; choose one of: {', '.join(e.path[1] for e in verbs)}",
                file=sys.stderr,
            )
            return 2
        print(f"usage: bnnrepro {argv[0]} ACTION [ARGS]\n\n{_group_help(argv[0])}\n\nactions:", file=out)
        for e in verbs:
            print(f"  {e.path[1]:<12} {e.help}", file=out)
        return 0
    close = difflib.get_close_matches(argv[0], sorted(groups), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    print(
        f"bnnrepro: error: unknown command {argv[0]!r}{hint}; run `bnnrepro --help` for the commands", file=sys.stderr
    )
    return 2


def _load(target: str) -> Any:
    """The command object ``module:object``, or the module itself (with add_arguments / run)."""
    module, _, name = target.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, name) if name else loaded


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from bnnrepro.io import recording_inputs

    try:
        with recording_inputs():  # what this command writes is sealed with what it read (bnnrepro.io)
            return _dispatch(argv)
    except BnnreproError as exc:
        print(f"bnnrepro: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except FileNotFoundError as exc:  # an input path that is not there
        print(
            f"bnnrepro: error: no such file: {exc.filename}; check the path (or run the step that writes it first)",
            file=sys.stderr,
        )
        return 2
    except OSError as exc:  # an output that cannot be written
        what = {
            errno.EACCES: "permission denied",
            errno.EROFS: "read-only file system",
            errno.ENOSPC: "no space left on device",
            errno.EISDIR: "it is a folder",
            errno.ENOTDIR: "a parent of it is a file, not a folder",
            errno.EEXIST: "it exists and is not a folder",
        }
        reason = (what.get(exc.errno) if exc.errno is not None else None) or exc.strerror or str(exc)
        target = exc.filename or "an output"
        print(
            f"bnnrepro: error: cannot write {target}: {reason}; choose another output path or free the space",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt as exc:
        print(f"bnnrepro: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        return 130


def _dispatch(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        print(f"bnnrepro {__version__}")
        return 0
    entries = registry()
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage(entries), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    entry, rest = _find(argv, entries)
    if entry is None:
        return _unknown(argv, entries)
    command = _load(entry.target)
    parser = ArgumentParser(prog="bnnrepro " + " ".join(entry.path), description=entry.help)
    command.add_arguments(parser)
    args = parser.parse_args(rest)
    args.family = entry.path[0]
    return int(command.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
