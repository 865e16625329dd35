"""What Snakemake would run for a config, and the command that runs exactly that.

Snakemake itself says which jobs ``snakemake --cores C all`` would run with the same config
arguments (a dry run in a subprocess, in the repository root where the Snakefile is; its job list
names each job's rule, outputs, log, benchmark file, threads and the reason it runs). For a
training job whose params changed, the parameter that changed is read from Snakemake's own record
of the job that made the output (``.snakemake/metadata``: the params it ran with) against the
chunk it would run now: the runs added or removed, each changed setting, the code version.
"""

from __future__ import annotations

import ast
import base64
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bnnrepro.errors import ConfigError


@dataclass
class Job:
    """One job of Snakemake's dry run."""

    rule: str
    outputs: list[str] = field(default_factory=list)
    log: str = ""
    benchmark: str = ""
    reason: str = ""
    wildcards: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    resources: dict[str, str] = field(default_factory=dict)


_RULE_LINE = re.compile(r"^(?:local)?(?:rule|checkpoint) ([\w.-]+):\s*$")
_FIELD_LINE = re.compile(r"^\s{4}(\w+): (.*)$")


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(", "):
        key, sep, value = item.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_dry_run(text: str) -> list[Job]:
    """The jobs of Snakemake's dry-run output (``rule NAME:`` blocks of ``key: value`` lines)."""
    jobs: list[Job] = []
    current: Job | None = None
    for line in text.splitlines():
        match = _RULE_LINE.match(line)
        if match:
            current = Job(match.group(1))
            jobs.append(current)
            continue
        match = _FIELD_LINE.match(line)
        if current is None or not match:  # a field line outside a rule block is not a field
            current = None if not line.startswith(" ") else current
            continue
        key, value = match.groups()
        if key == "output":
            current.outputs = value.split(", ")
        elif key == "log":
            current.log = value.split(", ")[0]
        elif key == "benchmark":
            current.benchmark = value
        elif key == "reason":
            current.reason = value
        elif key == "wildcards":
            current.wildcards = _pairs(value)
        elif key == "threads":
            current.threads = int(value)
        elif key == "resources":
            current.resources = _pairs(value)
    return [job for job in jobs if job.rule != "all"]


def snakemake_error(stderr: str) -> str:
    """The one line that says what is wrong in a failed Snakemake run's output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("invalid configuration") or ("Error:" in line and len(line) > 30):
            return line
    for i, line in enumerate(lines):
        if re.match(r"^\w*(Error|Exception)\b.*:?$", line) and i + 1 < len(lines):
            return f"{line.rstrip(':')}: {lines[i + 1]}"
    return lines[-1] if lines else "snakemake failed without a message"


def config_args(configfiles: list[str], overrides: list[str]) -> list[str]:
    """Snakemake's arguments for these config files and values: ONE ``--config`` with every
    KEY=VALUE (Snakemake keeps only the last of repeated ``--config`` options)."""
    return (["--configfile", *configfiles] if configfiles else []) + (["--config", *overrides] if overrides else [])


def snakemake_command(cores: int, configfiles: list[str], overrides: list[str], target: str = "all") -> str:
    """The shell command that runs what the plan priced, every argument quoted for a POSIX shell
    (the target before the config options, which take any number of values)."""
    words = ["snakemake", "--cores", str(cores), target, *config_args(configfiles, overrides)]
    return shlex.join(words)


def dry_run(root: Path, args: list[str], cores: int) -> list[Job]:
    """The jobs ``snakemake --cores CORES all ARGS`` would run (``--quiet host`` overrides the
    profile's ``quiet: rules``, so that the dry run lists every job). Not ``--summary``: it names
    no benchmark file, no threads, and its log column is empty for outputs never made, so a fresh
    config's outputs cannot be grouped into jobs."""
    command = [sys.executable, "-m", "snakemake", "--dry-run", "all", "--cores", str(cores), "--quiet", "host", *args]
    try:
        proc = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise ConfigError(
            "snakemake's dry run took over 10 minutes; is the results folder on a slow file system?"
        ) from None
    if proc.returncode != 0:
        raise ConfigError(f"snakemake cannot plan this config: {snakemake_error(proc.stderr + proc.stdout)}")
    return parse_dry_run(proc.stdout + "\n" + proc.stderr)


def load_config(root: Path, configfiles: list[str], overrides: list[str]) -> dict:
    """config.yaml, extended by each ``--configfile`` and then the ``--config`` values, normalized and
    validated (schema defaults filled) as workflow/rules/common.smk does."""
    import yaml
    from snakemake.utils import update_config, validate

    from bnnrepro.workflow.config import normalize

    config = yaml.safe_load((root / "config.yaml").read_text()) or {}
    for path in configfiles:
        update_config(config, yaml.safe_load(Path(path).read_text()) or {})
    if overrides:
        from snakemake.cli import parse_config

        update_config(config, parse_config(overrides))
    normalize(config)
    validate(config, str(root / "workflow" / "schemas" / "config.schema.yaml"))
    return config


# ----------------------------------------------------------------------------------------------
# Which parameter changed


def metadata_path(root: Path, output: str, max_len: int = 255) -> Path:
    """Snakemake's record of the job that made ``output``: .snakemake/metadata/<urlsafe base64 of
    the path>, split into folders of at most ``max_len`` - 1 characters (those before the last
    marked "@"), as its file persistence writes it."""
    b64 = base64.urlsafe_b64encode(output.encode()).decode()
    parts = [b64[i : i + max_len - 1] for i in range(0, len(b64), max_len - 1)]
    parts = ["@" + s for s in parts[:-1]] + parts[-1:]
    return root.joinpath(".snakemake", "metadata", *parts)


def recorded_params(root: Path, output: str) -> list | None:
    """The params Snakemake recorded for the job that made ``output`` (each param's repr, parsed
    back into its value), or None without a record."""
    path = metadata_path(root, output)
    try:
        raw = json.loads(path.read_text()).get("params")
        values = json.loads(raw) if isinstance(raw, str) else raw
        return [ast.literal_eval(v) if isinstance(v, str) else v for v in values or []]
    except (OSError, ValueError, SyntaxError, TypeError):
        return None


def _short(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def changed_settings(old: Mapping, new: Mapping) -> list[str]:
    """``key: old -> new`` for every setting that differs."""
    return [
        f"{key}: {_short(old.get(key))} -> {_short(new.get(key))}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def train_changes(recorded: list | None, spec: str, code: str) -> list[str]:
    """What differs between a training job's recorded params and the chunk it would run now
    (``spec``: the chunk's runs as JSON, ``code``: the training code version): the runs added and
    removed, the settings that changed per run, the code version."""
    if recorded is None:
        return ["no record of the earlier job's params (.snakemake/metadata)"]
    old_spec = next((v for v in recorded if isinstance(v, str) and v.startswith("{")), None)
    old_code = next((v for v in recorded if isinstance(v, str) and not v.startswith("{")), None)
    changes = []
    if old_code is not None and old_code != code:
        changes.append(f"code version {old_code} -> {code} (the training code changed)")
    try:
        old_runs = {r["name"]: r for r in json.loads(old_spec)["runs"]} if old_spec else {}
    except (ValueError, KeyError, TypeError):
        old_runs = {}
    new_runs = {r["name"]: r for r in json.loads(spec)["runs"]}
    added = [name for name in new_runs if name not in old_runs]
    removed = [name for name in old_runs if name not in new_runs]
    if added:
        changes.append("runs added: " + ", ".join(added))
    if removed:
        changes.append("runs no longer in it: " + ", ".join(removed))
    settings: dict[str, list[str]] = {}
    for name in new_runs.keys() & old_runs.keys():
        for change in changed_settings(old_runs[name].get("settings", {}), new_runs[name].get("settings", {})):
            settings.setdefault(change, []).append(name)
    for change, names in settings.items():
        changes.append(f"{change} ({len(names)} run{'s' if len(names) != 1 else ''})")
    moved = [
        name for name in new_runs.keys() & old_runs.keys() if old_runs[name].get("out") != new_runs[name].get("out")
    ]
    if moved and not settings:
        changes.append(
            f"run folders renamed ({len(moved)} runs; e.g. {old_runs[moved[0]].get('out')} -> "
            f"{new_runs[moved[0]].get('out')}): the runs train into their new folders"
        )
    return changes or ["params differ only in form (same runs and settings)"]
