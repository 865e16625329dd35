"""The console line of a failed workflow job.

The default profile keeps the console quiet (``quiet: [rules, host]``) and each job writes its
messages to its own log, so a failed job would show only Snakemake's ``CalledProcessError`` and
the whole shell command. The Snakefile's ``onerror`` handler calls :func:`report`: for every job
that failed it prints the job's one clear line (the last ``error:`` line of its log, or the log's
last line) and the log's path.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: "Error in rule train:" then indented "key: value" lines, among them "log: PATH (check log file(s) ...)".
_ERROR_BLOCK = re.compile(r"^Error in rule ([\w.-]+):\s*$")
_LOG_LINE = re.compile(r"^\s+log: (.+?)(?: \(check log file\(s\) for error details\))?\s*$")


def failed_jobs(snakemake_log: str | Path | None) -> list[tuple[str, list[str]]]:
    """(rule, [log paths]) of each failed job named in Snakemake's own log file."""
    try:
        lines = Path(snakemake_log).read_text(encoding="utf-8", errors="replace").splitlines()
    except (OSError, TypeError):
        return []
    jobs: list[tuple[str, list[str]]] = []
    for line in lines:
        match = _ERROR_BLOCK.match(line)
        if match:
            jobs.append((match.group(1), []))
            continue
        match = _LOG_LINE.match(line)
        if match and jobs and not jobs[-1][1]:
            jobs[-1][1].extend(part.strip() for part in match.group(1).split(","))
    return jobs


def clear_line(log: str | Path) -> str | None:
    """The line of a job's log that says what went wrong: its last ``error:`` line, else its last line."""
    try:
        lines = [line.strip() for line in Path(log).read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return None
    lines = [line for line in lines if line]
    errors = [line for line in lines if "error:" in line.lower() or line.startswith("bnnrepro:")]
    return (errors or lines or [None])[-1]


def report(snakemake_log: str | Path | None, results: str = "results", out=None) -> int:
    """Print one line per failed job (its rule, what went wrong, its log) on standard error; the
    number of jobs reported."""
    out = out or sys.stderr
    jobs = failed_jobs(snakemake_log)
    seen = set()
    for rule, logs in jobs:
        for log in logs or [None]:
            if (rule, log) in seen:
                continue
            seen.add((rule, log))
            line = clear_line(log) if log else None
            where = f" (log: {log})" if log else ""
            print(f"FAILED {rule}: {line or 'see the log'}{where}", file=out, flush=True)
    if not jobs:
        print(f"the workflow failed; the jobs' logs are under {Path(results) / 'logs'}", file=out, flush=True)
    return len(jobs)
