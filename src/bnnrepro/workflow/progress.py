"""What the workflow says while it runs and when it ends.

While it runs: one line per finished training chunk, with its name, the runs done of the runs to
train and an estimate of the training time left. The estimate is the plan's model
(:mod:`bnnrepro.workflow.plan.cost`, calibrated on this machine's finished runs): the modelled
seconds of the chunks not yet finished x their threads / the cores, scaled by this run's own pace
so far (elapsed seconds / modelled seconds of the work done). Without a calibration it says so.
A daemon thread started by the Snakefile's ``onstart`` watches the chunks' manifests (a training
job's output, written atomically when the chunk is done).

When it ends (``onsuccess``, and a run with nothing to do, where Snakemake calls no handler): the
tally of the claim verdicts and the report's path.
"""

from __future__ import annotations

import atexit
import csv
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bnnrepro.workflow.plan.cost import Calibration, calibrate, duration, model_chunk, pending_runs

VERDICT_ORDER = ("held", "did not hold", "inconclusive", "not run")


#: Why the time left cannot be told yet.
UNCALIBRATED = "no finished runs on this machine to calibrate the plan's model"


@dataclass
class Pending:
    """A training chunk this run will train: its manifest, runs to train and modelled seconds."""

    name: str
    manifest: Path
    runs: int
    seconds: float  # NaN: no model
    slots: int = 1
    done: bool = False


def price_chunks(
    chunks: Iterable, config: Mapping, root: Path, calibration: Calibration, code: str | None, slots_of: Callable
) -> list[Pending]:
    """The chunks to watch, each priced by the plan's model."""
    device = "cuda" if str(config.get("execution", {}).get("device", "cpu")).startswith("cuda") else "cpu"
    out = []
    for chunk in chunks:
        pending = pending_runs(chunk, config["results"], root, code)
        seconds, _ = model_chunk(chunk, pending, calibration, device)
        out.append(
            Pending(
                f"{chunk.family} {chunk.dataset}/{chunk.name}",
                root / chunk.manifest(config["results"]),
                len(pending),
                seconds,
                max(1, int(slots_of(chunk))),
            )
        )
    return out


class Watcher:
    """Prints a line per finished chunk (its manifest written after ``started``)."""

    def __init__(self, chunks: list[Pending], cores: int, write: Callable[[str], None], started: float | None = None):
        self.chunks = chunks
        self.cores = max(1, cores)
        self.write = write
        self.started = time.time() if started is None else started

    def line(self, chunk: Pending, now: float) -> str:
        done = [c for c in self.chunks if c.done]
        left = [c for c in self.chunks if not c.done]
        runs_done, runs_total = sum(c.runs for c in done), sum(c.runs for c in self.chunks)
        text = (
            f"[bnnrepro] chunk {len(done)}/{len(self.chunks)} done: {chunk.name} ({chunk.runs} "
            f"run{'s' if chunk.runs != 1 else ''}); runs {runs_done}/{runs_total}"
        )
        if not left:
            return text + "; training done"
        if any(math.isnan(c.seconds) for c in self.chunks):
            # No model (nothing finished here before this run): this run's own pace in runs, a rough guide
            # since runs of different families cost differently.
            elapsed = now - self.started
            if runs_done <= 0 or elapsed <= 0:
                return text + f"; time left unknown ({UNCALIBRATED})"
            rough = elapsed * (runs_total - runs_done) / runs_done
            return text + f"; roughly {duration(rough)} left at this run's pace so far (no calibrated model yet)"
        modelled_done = sum(c.seconds * c.slots for c in done) / self.cores
        pace = (now - self.started) / modelled_done if modelled_done > 0 else 1.0
        remaining = max(max(c.seconds for c in left), sum(c.seconds * c.slots for c in left) / self.cores)
        return (
            text + f"; about {duration(remaining * pace)} of training left (plan's model x this run's pace {pace:.2f})"
        )

    def poll(self, now: float | None = None) -> int:
        """Mark the chunks whose manifest appeared, print their lines; the number still running."""
        now = time.time() if now is None else now
        for chunk in self.chunks:
            if chunk.done:
                continue
            try:
                finished = chunk.manifest.stat().st_mtime >= self.started - 1
            except OSError:
                finished = False
            if finished:
                chunk.done = True
                self.write(self.line(chunk, now))
        return sum(1 for c in self.chunks if not c.done)

    def run(self, interval: float = 1.0) -> None:
        while self.poll():
            time.sleep(interval)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def start(workflow: Any, config: Mapping, chunks: Mapping, slots_of: Callable) -> Watcher | None:
    """From the Snakefile's ``onstart``: watch the training chunks of the jobs Snakemake will run.
    ``workflow``: Snakemake's Workflow (untyped, its internals vary by version: read defensively)."""
    try:
        wanted = {
            (job.wildcards.get("family"), job.wildcards.get("dataset"), job.wildcards.get("chunk"))
            for job in workflow.dag.needrun_jobs()
            if job.rule.name == "train"
        }
    except Exception:  # another Snakemake's internals: no progress lines, never a failed run
        return None
    todo = [chunks[key] for key in wanted if key in chunks]
    if not todo:
        return None
    from bnnrepro.workflow.codeversion import code_version

    root = Path(workflow.basedir)
    calibration = calibrate([root / config["results"], *sorted(p for p in root.glob("results*") if p.is_dir())])
    priced = price_chunks(todo, config, root, calibration, code_version("bnnrepro.train.command"), slots_of)
    cores = workflow.resource_settings.cores or os.cpu_count() or 1
    watcher = Watcher(priced, int(cores), _say)
    runs = sum(c.runs for c in priced)
    known = not any(math.isnan(c.seconds) for c in priced)
    estimate = (
        f"about {duration(max(max(c.seconds for c in priced), sum(c.seconds * c.slots for c in priced) / cores))} "
        "by the plan's model"
        if known
        else f"time unknown ({UNCALIBRATED})"
    )
    _say(f"[bnnrepro] training {runs} runs in {len(priced)} chunks: {estimate}")
    threading.Thread(target=watcher.run, name="bnnrepro-progress", daemon=True).start()
    return watcher


def tally(claims: Path) -> dict[str, int] | None:
    """Verdict -> number of claims in a claims.csv, or None without one."""
    try:
        with open(claims, newline="") as handle:
            verdicts = [row.get("verdict", "") for row in csv.DictReader(handle)]
    except OSError:
        return None
    return {v: verdicts.count(v) for v in VERDICT_ORDER}


def finish(report: Path, claims: Path) -> str:
    """The closing lines: the verdict tally and the report's path."""
    counts = tally(claims)
    if counts is None:
        return f"\nReport: {report.resolve()} (no claims table: {claims} is missing)"
    said = ", ".join(f"{n} {v}" for v, n in counts.items())
    return f"\nClaims: {said} (of {sum(counts.values())}).\nReport: {report.resolve()}  (claims: {claims.resolve()})"


_SAID: list[bool] = []
QUIET_FLAGS = {
    "-n",
    "--dry-run",
    "--dryrun",
    "--report",
    "--summary",
    "-S",
    "--detailed-summary",
    "-D",
    "--lint",
    "--list-rules",
    "-l",
    "--dag",
    "--rulegraph",
    "--filegraph",
    "--list-changes",
    "--lc",
    "--touch",
    "-t",
    "--unlock",
    "--cleanup-metadata",
}


def say_finish(report: Path, claims: Path) -> None:
    """Print the closing lines once (``onsuccess`` and the no-op hook both call this)."""
    if not _SAID:
        _SAID.append(True)
        print(finish(report, claims), flush=True)


def on_nothing_to_do(workflow: Any, report: Path, claims: Path, argv: list[str] | None = None) -> None:
    """Snakemake calls no handler when every output is up to date ("Nothing to be done"): at exit,
    if the DAG was built, empty and this was a plain run, print the closing lines anyway."""
    argv = sys.argv if argv is None else argv
    if any(arg.split("=")[0] in QUIET_FLAGS for arg in argv[1:]):
        return

    def hook() -> None:
        try:
            plain = not workflow.dryrun and workflow.exec_mode.name == "DEFAULT"
            empty = workflow.dag is not None and len(workflow.dag) == 0
        except Exception:
            return
        if plain and empty and Path(report).is_file():
            say_finish(report, claims)

    atexit.register(hook)
