"""The console line of a failed workflow job.

The default profile keeps the console quiet (``quiet: [rules, host]``) and each job writes its
messages to its own log, so a failed job would show only Snakemake's ``CalledProcessError`` and
the whole shell command. The Snakefile's ``onerror`` handler calls :func:`report`: for every job
that failed it prints the job's one clear line (the last ``error:`` line of its log, or the log's
last line) and the log's path. The failed jobs are read from Snakemake's own log: its ``Error in
rule`` blocks (their ``log:`` line) when rules are not quiet, else the failed commands (every rule
sends its output to its log with ``> LOG 2>&1``).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

_ERROR_BLOCK = re.compile(r"^Error in rule ([\w.-]+):\s*$")
_LOG_LINE = re.compile(r"^\s+log: (.+?)(?: \(check log file\(s\) for error details\))?\s*$")
_FAILED_COMMAND = re.compile(r"^Command '(.*)' returned non-zero exit status \d+\.?\s*$")


def _from_command(command: str) -> tuple[str, list[str]] | None:
    """(the job's bnnrepro command, [its log]) from a failed shell command ending in ``> LOG 2>&1``."""
    head, sep, tail = command.rpartition(" > ")
    if not sep or not tail.rstrip().endswith("2>&1"):
        return None
    try:
        log = shlex.split(tail.rstrip()[: -len("2>&1")])
        words = shlex.split(head.rpartition("python -m bnnrepro ")[2])[:2]
    except ValueError:
        return None
    name = " ".join(w for w in words if not w.startswith("-")) or "job"
    return name, log[:1]


def failed_jobs(snakemake_log: str | Path | None) -> list[tuple[str, list[str]]]:
    """(job, [log paths]) of each failed job named in Snakemake's own log file."""
    if snakemake_log is None:
        return []
    try:
        lines = Path(snakemake_log).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    blocks: list[tuple[str, list[str]]] = []
    commands: list[tuple[str, list[str]]] = []
    for line in lines:
        match = _ERROR_BLOCK.match(line)
        if match:
            blocks.append((match.group(1), []))
            continue
        match = _LOG_LINE.match(line)
        if match and blocks and not blocks[-1][1]:
            blocks[-1][1].extend(part.strip() for part in match.group(1).split(","))
            continue
        match = _FAILED_COMMAND.match(line)
        if match and (job := _from_command(match.group(1))):
            commands.append(job)
    return blocks or commands


def clear_line(log: str | Path) -> str | None:
    """The line of a job's log that says what went wrong: its last ``error:`` line, else its last line."""
    try:
        lines = [line.strip() for line in Path(log).read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return None
    lines = [line for line in lines if line]
    errors = [line for line in lines if "error:" in line.lower()]
    return (errors or lines)[-1] if lines else None


def report(
    snakemake_log: str | Path | None,
    results: str = "results",
    out: Any = None,
    jobs: list[tuple[str, list[str]]] | None = None,
) -> int:
    """Print one line per failed job (what went wrong, its log) on standard error; the number of
    jobs reported. ``jobs``: (rule, [logs]) of the failed jobs when the caller knows them (the
    Snakefile passes its scheduler's), else they are read from Snakemake's log."""
    out = out or sys.stderr
    jobs = jobs or failed_jobs(snakemake_log)
    seen: set[tuple[str, str | None]] = set()
    for job, logs in jobs:
        wheres: list[str | None] = [*logs] or [None]
        for log in wheres:
            if (job, log) in seen:
                continue
            seen.add((job, log))
            line = clear_line(log) if log else None
            where = f" (log: {log})" if log else ""
            print(f"FAILED {job}: {line or 'see the log'}{where}", file=out, flush=True)
    if not jobs:
        print(f"the workflow failed; the jobs' logs are under {Path(results) / 'logs'}", file=out, flush=True)
    return len(jobs)
