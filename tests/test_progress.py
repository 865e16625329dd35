"""What the workflow says while it runs (a line per finished chunk with runs and time left) and at
its end (the verdict tally and the report's path, also when there was nothing to do)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from types import SimpleNamespace

from bnnrepro.workflow import progress


def _chunk(tmp_path, name, runs, seconds, slots=1):
    return progress.Pending(name, tmp_path / f"{name}.json", runs, seconds, slots)


def test_a_line_per_finished_chunk_with_runs_and_time_left(tmp_path):
    chunks = [_chunk(tmp_path, "a", 2, 10.0), _chunk(tmp_path, "b", 3, 20.0), _chunk(tmp_path, "c", 1, 30.0)]
    lines: list[str] = []
    started = time.time() - 100
    watcher = progress.Watcher(chunks, cores=2, write=lines.append, started=started)
    assert watcher.poll() == 3 and lines == []
    chunks[0].manifest.write_text("{}")
    assert watcher.poll(now=started + 10) == 2
    # 10 s modelled on 2 cores = 5 s of wall time done in 10 s: pace 2; left max(30, 50 / 2) x 2 = 60 s
    assert lines == [
        "[bnnrepro] chunk 1/3 done: a (2 runs); runs 2/6; about 1 min 00 s of training left "
        "(plan's model x this run's pace 2.00)"
    ]
    chunks[1].manifest.write_text("{}")
    chunks[2].manifest.write_text("{}")
    assert watcher.poll(now=started + 40) == 0
    assert lines[-1].startswith("[bnnrepro] chunk 3/3 done: c (1 run); runs 6/6; training done")


def test_an_old_manifest_is_not_a_finished_chunk_and_unknown_time_is_said(tmp_path):
    chunk = _chunk(tmp_path, "a", 2, math.nan)
    other = _chunk(tmp_path, "b", 1, math.nan)
    chunk.manifest.write_text("{}")
    os.utime(chunk.manifest, (time.time() - 3600, time.time() - 3600))  # from an earlier run
    lines: list[str] = []
    watcher = progress.Watcher([chunk, other], cores=1, write=lines.append)
    assert watcher.poll() == 2 and lines == []
    chunk.manifest.write_text("{}")
    watcher.poll(now=watcher.started)  # no time has passed: no pace to go by
    assert "time left unknown" in lines[0]


def test_without_a_model_the_time_left_follows_this_runs_pace(tmp_path):
    first, second = _chunk(tmp_path, "a", 2, math.nan), _chunk(tmp_path, "b", 6, math.nan)
    lines: list[str] = []
    watcher = progress.Watcher([first, second], cores=1, write=lines.append, started=time.time() - 1)
    first.manifest.write_text("{}")
    watcher.poll(now=watcher.started + 60)  # 2 runs in 60 s: 6 runs left take about 3 min
    assert "roughly 3 min" in lines[0] and "no calibrated model" in lines[0], lines


def test_the_closing_lines_tally_the_verdicts(tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text("claim,verdict\na,held\nb,held\nc,inconclusive\nd,not run\n")
    text = progress.finish(tmp_path / "index.html", claims)
    assert "Claims: 2 held, 0 did not hold, 1 inconclusive, 1 not run (of 4)." in text
    assert f"Report: {(tmp_path / 'index.html').resolve()}" in text
    assert "is missing" in progress.finish(tmp_path / "index.html", tmp_path / "none.csv")


def test_nothing_to_do_prints_the_closing_lines_only_for_a_plain_run(tmp_path, monkeypatch):
    hooks: list[Callable[[], None]] = []
    monkeypatch.setattr(progress.atexit, "register", hooks.append)
    progress.on_nothing_to_do(object(), tmp_path / "r.html", tmp_path / "c.csv", argv=["snakemake", "-n", "all"])
    assert hooks == []  # a dry run: nothing registered
    workflow = SimpleNamespace(dryrun=False, exec_mode=SimpleNamespace(name="DEFAULT"), dag=[])
    progress.on_nothing_to_do(workflow, tmp_path / "r.html", tmp_path / "c.csv", argv=["snakemake", "all"])
    (tmp_path / "r.html").write_text("<html>")
    said = []
    monkeypatch.setattr(progress, "say_finish", lambda report, claims: said.append(report))
    hooks[0]()
    assert said == [tmp_path / "r.html"]
    workflow.dag = [1]  # jobs ran (or failed): onsuccess speaks, or nothing
    hooks[0]()
    assert len(said) == 1
