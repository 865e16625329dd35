"""What the Snakemake workflow needs from Python: config validation with clear messages, the
tables of runs each family fans out into, the command line of each run, and code fingerprints.

Kept here (not in the .smk files) so that it is plain, importable and unit-tested code; the rule
files stay declarative.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from bnnrepro.errors import ConfigError

SRC = Path(__file__).resolve().parent

#: Source files whose content defines each kind of output (a change reruns what it touches).
#: A leading "!" leaves a file out (the kernel benchmark driver makes no training output).
CODE_COMPONENTS: dict[str, tuple[str, ...]] = {
    "train": ("data", "nn", "train", "kernels", "!kernels/bench.py", "io.py", "errors.py", "cli.py"),
    "memorization": ("experiments/__init__.py", "experiments/memorization.py", "plots"),
    "easy_examples": ("experiments/__init__.py", "experiments/easy_examples.py", "plots"),
    "efficiency": ("experiments/__init__.py", "experiments/efficiency.py", "plots", "kernels", "!kernels/bench.py"),
    "binaryconnect": ("experiments/__init__.py", "experiments/binaryconnect.py", "plots"),
    "lutnet": ("lutnet", "data", "plots"),
    "kernels": ("kernels",),
    "kernel_plot": ("experiments/__init__.py", "experiments/kernels.py", "plots"),
    "report": ("report", "plots", "experiments"),
}


def code_version(component: str) -> str:
    """Hash of the source files of ``component`` (see :data:`CODE_COMPONENTS`)."""
    digest = hashlib.sha256()
    parts = CODE_COMPONENTS[component]
    excluded = {SRC / part[1:] for part in parts if part.startswith("!")}
    for part in parts:
        if part.startswith("!"):
            continue
        path = SRC / part
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.is_file() else []
        for file in (f for f in files if f not in excluded):
            digest.update(str(file.relative_to(SRC)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


# --- config validation ---------------------------------------------------------------------------

def load_schema(path: str | Path) -> dict:
    """The config schema with every ``$ref`` inlined (to other files or to its own definitions;
    the schema is not recursive), so that defaults can be filled by a plain walk."""
    path = Path(path)
    root = yaml.safe_load(path.read_text())

    def inline(node, base: Path, doc: dict):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                file, _, pointer = ref.partition("#")
                target_doc = yaml.safe_load((base.parent / file).read_text()) if file else doc
                target = target_doc
                for part in filter(None, pointer.split("/")):
                    target = target[part]
                extra = {k: v for k, v in node.items() if k != "$ref"}
                resolved = inline(target, base.parent / file if file else base, target_doc)
                return {**resolved, **inline(extra, base, doc)}
            return {k: inline(v, base, doc) for k, v in node.items() if k != "definitions"}
        if isinstance(node, list):
            return [inline(v, base, doc) for v in node]
        return node

    return inline(root, path, root)


def _normalize_yaml_booleans(config: Any, key: str | None = None) -> Any:
    """YAML reads an unquoted ``true`` in a list of label modes as a boolean: map it back."""
    if isinstance(config, dict):
        return {k: _normalize_yaml_booleans(v, k) for k, v in config.items()}
    if isinstance(config, list):
        return [_normalize_yaml_booleans(v, key) for v in config]
    if key == "labels" and config is True:
        return "true"
    return config


def _where(path: Iterable) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _explain(error, schema: dict) -> str:
    where = _where(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unexpected = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"{where}: unknown key(s) {', '.join(map(repr, unexpected))}{hint}"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not allowed; choose one of: {', '.join(map(str, error.validator_value))}"
    if error.validator == "propertyNames":
        allowed = error.schema.get("propertyNames", {}).get("enum", [])
        return f"{where}: unknown name {error.instance!r}; allowed: {', '.join(allowed)}"
    if error.validator == "type":
        expected = error.validator_value
        return f"{where}: {error.instance!r} has the wrong type; expected {expected if isinstance(expected, str) else ' or '.join(expected)}"
    if error.validator in ("minimum", "exclusiveMinimum", "maximum"):
        return f"{where}: {error.message}"
    return f"{where}: {error.message}"


def _set_defaults(node: Any, schema: dict) -> None:
    """Fill missing keys of ``node`` from the (inlined) schema's defaults, recursively."""
    if not isinstance(node, dict) or not isinstance(schema, dict):
        if isinstance(node, list) and isinstance(schema, dict) and isinstance(schema.get("items"), dict):
            for item in node:
                _set_defaults(item, schema["items"])
        return
    properties = schema.get("properties", {})
    for key, sub in properties.items():
        if key not in node and "default" in sub:
            node[key] = copy.deepcopy(sub["default"])
        if key in node:
            _set_defaults(node[key], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in node.items():
            if key not in properties:
                _set_defaults(value, extra)


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Validate ``config`` against the workflow schema, fill defaults, check every run's settings.

    Raises :class:`ConfigError` listing each problem as ``key.path: what is wrong; allowed ...``.
    Returns the normalized config (also updated in place).
    """
    import jsonschema

    schema = load_schema(schema_path)
    normalized = _normalize_yaml_booleans(config)
    config.clear()
    config.update(normalized)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = "\n  ".join(_explain(e, schema) for e in errors[:20])
        raise ConfigError(f"invalid configuration:\n  {lines}\n(see workflow/schemas/config.schema.yaml "
                          "for every key, its default and its allowed values)")
    _set_defaults(config, schema)
    for run in all_runs(config):
        run.train_config()  # raises ConfigError naming the run
    return config


# --- run tables ----------------------------------------------------------------------------------

@dataclass
class Run:
    """One training run of a family: where it goes and the settings it trains with."""

    family: str
    dataset: str
    name: str
    settings: dict[str, Any]
    condition: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.name}"

    def train_config(self):
        from bnnrepro.train import TrainConfig

        try:
            return TrainConfig.from_dict(self.settings, f"config ({self.family} run {self.key})").validate()
        except ConfigError as exc:
            message = str(exc)
            prefix = f"config ({self.family} run {self.key})"
            raise ConfigError(message if message.startswith(prefix) else f"{prefix}: {message}") from None

    def cli_args(self, threads: int | None = None) -> str:
        """The `bnnrepro train` options of this run (shell-quoted)."""
        cfg = self.train_config()
        values = cfg.to_dict()
        if threads is not None:
            values["threads"] = threads
        args = ["--name", self.name]
        for key, value in values.items():
            flag = "--" + key.replace("_", "-")
            if isinstance(value, bool):
                args.append(flag if value else "--no-" + key.replace("_", "-"))
            elif value is None or value == []:
                continue
            elif isinstance(value, list):
                args += [flag, *map(str, value)]
            else:
                args += [flag, repr(value) if isinstance(value, float) else str(value)]
        return shlex.join(args)


def _merge(*layers: dict | None) -> dict:
    merged: dict = {}
    for layer in layers:
        merged.update(copy.deepcopy(layer or {}))
    return merged


def _base(config: dict, family: dict) -> dict:
    execution = config.get("execution", {})
    return _merge({"device": execution.get("device", "cpu"), "threads": execution.get("threads_per_run", 1),
                   "data_dir": config.get("data_dir")}, config.get("defaults"), family.get("settings"))


def _tags(**values) -> list[str]:
    return [f"{k}={v}" for k, v in values.items()]


def memorization_runs(config: dict) -> list[Run]:
    family = config.get("memorization", {})
    if not family.get("enabled", True):
        return []
    grid = family.get("grid", {})
    conditions = [dict(dataset=d, binarization=b, labels=lab, regularization=r, settings={})
                  for d in family.get("datasets", [])
                  for b, lab, r in itertools.product(grid.get("binarization", []), grid.get("labels", []),
                                                     grid.get("regularization", []))]
    conditions += [dict(c, settings=c.get("settings", {})) for c in family.get("conditions", [])]
    runs, seen = [], set()
    for cond in conditions:
        reg = cond["regularization"]
        if reg not in family.get("regularizers", {}):
            raise ConfigError(f"config memorization: regularization {reg!r} is not defined under "
                              f"memorization.regularizers (defined: {', '.join(family.get('regularizers', {}))})")
        for seed in family.get("seeds", [0]):
            name = f"{cond['binarization']}-{cond['labels']}-{reg}-s{seed}"
            if (cond["dataset"], name) in seen:
                continue
            seen.add((cond["dataset"], name))
            settings = _merge(_base(config, family), family.get("dataset_settings", {}).get(cond["dataset"]),
                              family.get("binarizations", {}).get(cond["binarization"]),
                              family["regularizers"][reg], cond["settings"])
            settings.update(dataset=cond["dataset"], labels=cond["labels"], seed=seed,
                            tags=_tags(binarization=cond["binarization"], labels=cond["labels"], regularization=reg))
            settings.setdefault("binarization", cond["binarization"])
            runs.append(Run("memorization", cond["dataset"], name, settings,
                            dict(binarization=cond["binarization"], labels=cond["labels"], regularization=reg,
                                 seed=seed)))
    return runs


def easy_example_runs(config: dict) -> list[Run]:
    family = config.get("easy_examples", {})
    if not family.get("enabled", True):
        return []
    runs = []
    for dataset in family.get("datasets", []):
        dataset_settings = family.get("dataset_settings", {}).get(dataset)
        for b, lab in itertools.product(family.get("binarizations", []), family.get("labels", [])):
            for rep in range(family.get("repeats", 20)):
                settings = _merge(_base(config, family), dataset_settings)
                settings.update(dataset=dataset, labels=lab, binarization=b, epochs=1, seed=rep,
                                probe_size=family.get("probe_size", 1000), probe_seed=family.get("probe_seed", 0),
                                save_model=False, tags=_tags(binarization=b, labels=lab))
                runs.append(Run("easy_examples", dataset, f"{b}-{lab}/r{rep:03d}", settings,
                                dict(binarization=b, labels=lab, repeat=rep)))
    return runs


def _variant_runs(config: dict, family_name: str, extra_axis: str | None = None) -> list[Run]:
    """Runs of a family defined by datasets x [archs] x variants x seeds (efficiency, BinaryConnect)."""
    family = config.get(family_name, {})
    if not family.get("enabled", True):
        return []
    runs = []
    axis_values = family.get(extra_axis, []) if extra_axis else [None]
    for dataset in family.get("datasets", []):
        for value, variant, seed in itertools.product(axis_values, family.get("variants", []), family.get("seeds", [0])):
            if variant not in family.get("variant_settings", {}):
                raise ConfigError(f"config {family_name}: variant {variant!r} is not defined under "
                                  f"{family_name}.variant_settings (defined: {', '.join(family.get('variant_settings', {}))})")
            settings = _merge(_base(config, family), family.get("dataset_settings", {}).get(dataset),
                              {"arch": value} if extra_axis == "archs" else None, family["variant_settings"][variant])
            settings.update(dataset=dataset, seed=seed, tags=_tags(variant=variant))
            name = f"{value}-{variant}-s{seed}" if value else f"{variant}-s{seed}"
            runs.append(Run(family_name, dataset, name, settings,
                            dict(variant=variant, seed=seed, **({"arch": value} if value else {}))))
    return runs


def efficiency_runs(config: dict) -> list[Run]:
    return _variant_runs(config, "efficiency", "archs")


def binaryconnect_runs(config: dict) -> list[Run]:
    return _variant_runs(config, "binaryconnect")


@dataclass
class LutJob:
    """One `bnnrepro lutnet` table of the lookup-table family."""

    dataset: str
    name: str  # table1, table2, table3-real, table3-random, pairwise-k<k>
    table: str
    args: list[str]

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.name}"

    def cli_args(self) -> str:
        return shlex.join(self.args)


def lutnet_jobs(config: dict) -> list[LutJob]:
    """The lookup-table family's jobs; each writes one tidy CSV (real-label and random-label
    sweeps are separate jobs so that only random labels repeat over ``data_seeds``)."""
    family = config.get("lutnet", {})
    if not family.get("enabled", True):
        return []
    jobs = []

    def common(section: dict) -> list[str]:
        args = ["--layers", str(family["hidden_layers"]), "--width", str(family["width"]),
                "--seed", *map(str, family["seeds"]), "--threads", str(family["threads"]), "--offline"]
        for key in ("train_size", "test_size"):
            if section.get(key) is not None:
                args += ["--" + key.replace("_", "-"), str(section[key])]
        if config.get("data_dir"):
            args += ["--data-dir", str(config["data_dir"])]
        return args

    for dataset in family.get("datasets", []):
        t1, t2, t3, pw = family["table1"], family["table2"], family["table3"], family["pairwise"]
        if t1["enabled"]:
            args = common(t1) + ["--k", *map(str, t1["k"]), "--conv-epochs", str(t1["conv_epochs"]),
                                 "--jobs", str(t1["jobs"])]
            if t1.get("train_eval_size") is not None:
                args += ["--train-eval-size", str(t1["train_eval_size"])]
            if t1.get("methods"):
                args += ["--methods", *t1["methods"]]
            jobs.append(LutJob(dataset, "table1", "table1", args))
        if t2["enabled"]:
            jobs.append(LutJob(dataset, "table2", "table2", common(t2) + ["--k", str(t2["k"])]))
        if t3["enabled"]:
            for labels in t3["labels"]:
                seeds = family["data_seeds"] if labels == "random" else family["data_seeds"][:1]
                jobs.append(LutJob(dataset, f"table3-{labels}", "table3",
                                   common(t3) + ["--k", *map(str, t3["k"]), "--labels", labels,
                                                 "--data-seed", *map(str, seeds)]))
        if pw["enabled"]:
            for k in pw["k"]:
                args = common(pw) + ["--k", str(k)]
                if pw.get("pairs"):
                    args += ["--pairs", *pw["pairs"]]
                jobs.append(LutJob(dataset, f"pairwise-k{k}", "pairwise", args))
    return jobs


FAMILY_RUNS = {"memorization": memorization_runs, "easy_examples": easy_example_runs,
               "efficiency": efficiency_runs, "binaryconnect": binaryconnect_runs}


def all_runs(config: dict) -> list[Run]:
    return [run for make in FAMILY_RUNS.values() for run in make(config)]


def runs_by_key(runs: list[Run]) -> dict[str, Run]:
    return {run.key: run for run in runs}
