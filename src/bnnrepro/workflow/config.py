"""The workflow's configuration: the messages of its validation, and the checks a schema cannot do.

Validation itself is Snakemake's ``validate`` (jsonschema, defaults filled) called by the Snakefile;
:func:`explain` turns its error into one line naming the key, what is wrong and how to fix it.
:func:`check` then runs every check that needs more than one key (regularizer names, class pairs,
every run's training settings), before any job starts. Nothing here imports torch.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bnnrepro.errors import ConfigError

if TYPE_CHECKING:
    import jsonschema

#: Keys that were renamed: old -> new (a config using the old name gets a hint).
RENAMED = {"lutnet": "lookup_tables"}
SCHEMA_HINT = "see workflow/schemas/config.schema.yaml for every key, its default and allowed values"
_FLOAT_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)$")


def normalize(config: dict) -> dict:
    """YAML reads an unquoted ``true`` in a list of label modes as a boolean: map it back (in place)."""

    def walk(node: Any, key: str | None = None) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        return "true" if key == "labels" and node is True else node

    normalized = walk(config)
    config.clear()
    config.update(normalized)
    return config


def _train_settings() -> set[str]:
    from dataclasses import fields

    from bnnrepro.train.config import TrainConfig

    return {f.name for f in fields(TrainConfig)}


def where(path: Iterable) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def explain(error: jsonschema.ValidationError) -> str:
    """One line for a jsonschema ValidationError: the key path, what is wrong, the allowed values or
    the closest known key, and the YAML pitfall behind it when there is one."""
    at = where(error.absolute_path)
    instance = error.instance
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    allowed_values: Any = error.validator_value
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        unknown = sorted(set(instance) - set(allowed)) if isinstance(instance, dict) else []
        hints = []
        for key in unknown:
            close = [RENAMED[key]] if key in RENAMED else difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            if close:
                hints.append(f"{key!r} (did you mean {close[0]!r}?)")
            elif "settings" in allowed and key in _train_settings():
                hints.append(
                    f"{key!r} (a training setting: put it under {at}.settings or {at}.dataset_settings.<dataset>)"
                )
            else:
                hints.append(repr(key))
        return f"{at}: unknown key {', '.join(hints)}; allowed keys: {', '.join(allowed)}"
    if error.validator == "enum":
        close = difflib.get_close_matches(str(instance), [str(v) for v in allowed_values], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{at}: {instance!r} is not allowed{hint}; choose one of: {', '.join(map(str, allowed_values))}"
    if error.validator == "propertyNames":
        allowed = schema.get("propertyNames", {}).get("enum", [])
        return f"{at}: unknown name {instance!r}; allowed: {', '.join(allowed)}"
    if error.validator == "type":
        expected = allowed_values
        expected = expected if isinstance(expected, str) else " or ".join(expected)
        hint = ""
        if isinstance(instance, str) and _FLOAT_TEXT.match(instance.strip()):
            mantissa, exponent = re.split("[eE]", instance.strip())
            hint = (
                f" (YAML reads {instance} as text: write it with a decimal point, e.g. "
                f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent})"
            )
        return f"{at}: {instance!r} has the wrong type; expected {expected}{hint}"
    if error.validator == "pattern":
        return (
            f"{at}: {instance!r} cannot name files and run folders; use letters, digits and _ . + - only "
            "(no /, spaces, quotes or shell characters)"
        )
    if error.validator == "minItems" and isinstance(instance, list) and not instance:
        return f"{at}: the list is empty; give at least one value (or disable the family with enabled: false)"
    return f"{at}: {error.message}"


def explain_workflow_error(exc: Exception) -> str:
    """The message for a WorkflowError raised by Snakemake's ``validate`` (raised while handling
    the jsonschema error, which is its context)."""
    import jsonschema

    for cause in (exc.__cause__, exc.__context__, *getattr(exc, "args", ())):
        if isinstance(cause, jsonschema.exceptions.ValidationError):
            return f"invalid configuration: {explain(cause)} ({SCHEMA_HINT})"
    return f"invalid configuration: {exc}"


#: Folders of a checkout that hold its sources: no results or report folder may write into them.
SOURCE_FOLDERS = ("src", "workflow", "tests", "envs", "profiles", "benchmarks", ".git", ".snakemake", ".venv")
#: The largest seed torch and numpy take (a signed 64-bit integer).
MAX_SEED = 2**63 - 1


def load_yaml(path: str | os.PathLike) -> dict:
    """A YAML config file as a mapping; a syntax error, a duplicate key or a top level that is not
    a mapping is a ConfigError naming the file and line (YAML itself keeps the last of two equal
    keys silently, so a setting given twice would quietly lose one value)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict:
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise ConfigError(
                        f"{path}:{line}: duplicate key {key!r} (first given at line {seen[key]}); keep one of them"
                    )
                seen[key] = line
            return super().construct_mapping(node, deep=deep)

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; check the path") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise ConfigError(f"config file {path} is not a text file ({exc})") from None
    try:
        data = yaml.load(text, Loader=StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where_ = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "not valid YAML"
        raise ConfigError(
            f"{where_}: not valid YAML ({problem}); fix that line (indent with spaces, close brackets and quotes)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys (results:, memorization:, ...), "
            f"not a {type(data).__name__}"
        )
    return data


def checkout_root() -> Path | None:
    """The source checkout this package runs from (the folder with the Snakefile), if any."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "Snakefile").is_file() and (root / "src" / "bnnrepro").is_dir() else None


def check_output_folders(config: Mapping, root: str | os.PathLike | None = None) -> None:
    """Refuse a results or report folder that would write into the checkout's sources (``.``,
    ``src``, ``workflow``...) or above it, or that is a file."""
    root = Path(root).resolve() if root else checkout_root()
    for key in ("results", "report_dir"):
        value = config.get(key)
        if not isinstance(value, str):
            continue
        folder = (root / value if root and not Path(value).is_absolute() else Path(value)).resolve()
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{key}: {value!r} is a file, not a folder; choose another {key}")
        if root is None:
            continue
        inside = [name for name in SOURCE_FOLDERS if folder == root / name or (root / name) in folder.parents]
        if folder == root or inside or folder in root.parents:
            what = (
                "the checkout itself"
                if folder == root
                else (f"the checkout's {inside[0]}/ folder" if inside else "a folder above the checkout")
            )
            raise ConfigError(
                f"{key}: {value!r} would write into {what} ({folder}); choose a folder of its own, e.g. "
                f"{key}: {'results' if key == 'results' else 'report'}"
            )
    if config.get("results") and config.get("results") == config.get("report_dir"):
        raise ConfigError("results and report_dir are the same folder; give the report a folder of its own")


def _gpu_visible() -> bool:
    """Whether this machine shows an NVIDIA GPU, without importing torch (a config check must stay fast)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return (
        Path("/dev/nvidia0").exists() or Path("/proc/driver/nvidia/gpus").is_dir() or bool(shutil.which("nvidia-smi"))
    )


def check_execution(config: Mapping, run_devices: Mapping[str, str] | None = None) -> None:
    """A GPU asked for where there is none, run locally: refused before any job starts.
    ``run_devices``: run -> its device setting (a family's settings may ask for cuda too)."""
    if _gpu_visible():
        return
    execution = config.get("execution", {})
    cuda_runs = [run for run, device in (run_devices or {}).items() if device == "cuda"]
    if (execution.get("device") == "cuda" or cuda_runs) and not execution.get("gpus_per_run"):
        what = "execution.device is cuda" if execution.get("device") == "cuda" else f"run {cuda_runs[0]} asks for cuda"
        raise ConfigError(
            f"{what} but this machine has no GPU; set device: cpu (or auto), "
            "or run on a cluster with execution.gpus_per_run: 1 (the jobs then go to GPU nodes)"
        )
    kernels = config.get("kernels", {})
    if kernels.get("enabled", True) and kernels.get("device") == "cuda" and not kernels.get("gpus"):
        raise ConfigError(
            "kernels.device is cuda but this machine has no GPU; set kernels.device: auto (or cpu), "
            "or run on a cluster with kernels.gpus: 1"
        )


def kernel_operand_bytes(batch: int, size: int) -> int:
    """Memory of one benchmarked shape's operands (bnnrepro.kernels.bench checks the same bound
    before allocating): about 4 fp32 copies of the K x N weights and 6 of the M x K operands."""
    return 4 * (4 * size * size + 6 * batch * size)


def check_kernels(config: Mapping) -> None:
    """Kernel sizes whose operands cannot fit in this machine's memory (the benchmark runs on CPU
    unless a GPU is visible)."""
    kernels = config.get("kernels", {})
    if not kernels.get("enabled", True) or _gpu_visible():
        return
    import psutil

    available = psutil.virtual_memory().available
    batch = max(kernels.get("batch") or [1])
    for size in kernels.get("sizes") or []:
        need = kernel_operand_bytes(batch, size)
        if need > 0.8 * available:
            raise ConfigError(
                f"kernels.sizes: {size} (with batch {batch}) needs about {need / 2**30:,.1f} GiB for its operands, "
                f"more than the {available / 2**30:,.1f} GiB free here; choose smaller kernels.sizes / kernels.batch"
            )


def check_data(config: Mapping, datasets: Iterable[str]) -> list[str]:
    """The data folder exists and, when given, holds every dataset the config uses (no silent
    fall-back to another copy); warnings for datasets that will be downloaded."""
    from bnnrepro.data.fetch import file_status
    from bnnrepro.data.registry import get_spec
    from bnnrepro.errors import DataError

    data_dir = config.get("data_dir")
    warnings = []
    for dataset in sorted(set(datasets)):
        try:
            statuses = file_status(get_spec(dataset), data_dir, verify=False)
        except (ConfigError, DataError) as exc:
            raise ConfigError(f"data_dir: {exc}") from None
        missing = [s for s in statuses if s.state == "missing"]
        if not missing:
            continue
        if data_dir:
            folder = Path(data_dir) / dataset
            raise ConfigError(
                f"data_dir: {folder} lacks {missing[0].name} (and {len(missing) - 1} more) of {dataset}; "
                f"point data_dir at the folder that holds {dataset}/, or download them there with "
                f"`bnnrepro data fetch {dataset} --data-dir {data_dir}`"
            )
        warnings.append(f"{dataset}: {len(missing)} file(s) not found locally; the data_fetch job downloads them")
    return warnings


def check_sizes(family: str, run_key: str, settings: Mapping) -> None:
    """Seeds within 64 bits and subset sizes within the dataset's (from the data registry)."""
    from bnnrepro.data.registry import get_spec

    source = f"{family} run {run_key}"
    for key in ("seed", "data_seed", "probe_seed"):
        value = settings.get(key)
        if isinstance(value, int) and not 0 <= value <= MAX_SEED:
            raise ConfigError(f"invalid configuration: {source}: {key}={value} must be in [0, 2**63 - 1]")
    try:
        spec = get_spec(settings.get("dataset", "fashion_mnist"))
    except (KeyError, ValueError, ConfigError):
        return
    valid = settings.get("valid_size") or 0
    train, test = settings.get("train_size"), settings.get("test_size")
    if isinstance(valid, int) and valid >= spec.train_size:
        raise ConfigError(
            f"invalid configuration: {source}: valid_size={valid} must be below {spec.name}'s "
            f"{spec.train_size:,} training examples"
        )
    if isinstance(train, int) and train + valid > spec.train_size:
        raise ConfigError(
            f"invalid configuration: {source}: train_size={train} with valid_size={valid} exceeds {spec.name}'s "
            f"{spec.train_size:,} training examples; lower train_size (null: all of them)"
        )
    if isinstance(test, int) and test > spec.test_size:
        raise ConfigError(
            f"invalid configuration: {source}: test_size={test} exceeds {spec.name}'s {spec.test_size:,} test "
            "examples; lower test_size (null: all of them)"
        )


def check(config: Mapping, root: str | os.PathLike | None = None) -> list[str]:
    """Every check beyond the schema; raises ConfigError on the first problem, returns warnings.

    The results and report folders (not into the checkout's sources), the device, the kernel sizes;
    family checks (their own names, ...) from each family's declaration; then every run's training
    settings are validated as ``bnnrepro train`` would, naming the run, and its sizes against the
    dataset's; last the data: the data folder and the files of every dataset used."""
    from bnnrepro.families.registry import FAMILIES
    from bnnrepro.train.config import TrainConfig

    check_output_folders(config, root)
    check_kernels(config)
    warnings: list[str] = []
    datasets: list[str] = []
    devices: dict[str, str] = {}
    for family in FAMILIES.values():
        if not family.enabled(config):
            continue
        problems, notes = family.check(config)
        if problems:
            raise ConfigError(f"invalid configuration: {problems[0]}")
        warnings.extend(notes)
        for run in family.runs(config):
            source = f"{family.name} run {run.key}"
            datasets.append(run.settings.get("dataset", run.dataset))
            devices[source] = run.settings.get("device", "cpu")
            check_sizes(family.name, run.key, run.settings)
            try:
                mem_mb = config.get("execution", {}).get("mem_mb_per_run", 3000)
                TrainConfig.from_dict(dict(run.settings), source).validate().check_fits(
                    mem_mb * 2**20, "of a training job (execution.mem_mb_per_run)"
                )
            except ConfigError as exc:
                message = str(exc)
                raise ConfigError(
                    f"invalid configuration: {message if message.startswith(source) else source + ': ' + message}"
                ) from None
    check_execution(config, devices)
    datasets += _compute_datasets(config)
    warnings += check_data(config, datasets)
    return warnings


def _compute_datasets(config: Mapping) -> list[str]:
    """Datasets of the jobs that do not train (the lookup-table computations)."""
    from bnnrepro.families.lookup_tables import declaration as lookup_tables

    return [job.dataset for job in lookup_tables.jobs(config)]


def resolve(configfiles: Iterable[str | os.PathLike], root: str | os.PathLike | None = None) -> tuple[dict, list[str]]:
    """The workflow's config as the Snakefile builds it (config.yaml, then each config file merged
    over it, normalized, validated with defaults filled, checked) and its warnings; a ConfigError
    naming the file, key or run otherwise."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import update_config, validate

    root = Path(root) if root else checkout_root()
    if root is None:
        raise ConfigError("no checkout found: run this from the repository (it needs the Snakefile and the schema)")
    config: dict = {}
    for path in [root / "config.yaml", *map(Path, configfiles)]:
        update_config(config, load_yaml(path))
    normalize(config)
    try:
        validate(config, str(root / "workflow" / "schemas" / "config.schema.yaml"))
    except WorkflowError as exc:
        raise ConfigError(explain_workflow_error(exc)) from None
    return config, check(config, root)


class Command:
    """``bnnrepro config check``: check a workflow config before running it (the checks the
    Snakefile runs before any job, in a second)."""

    help = "check a workflow config (config.yaml and --configfile presets) before running it"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--configfile", nargs="*", default=[], metavar="FILE", help="config files merged over config.yaml"
        )

    def run(self, args: argparse.Namespace) -> int:
        import sys

        _, warnings = resolve(args.configfile)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print("the config is valid", file=sys.stderr)
        return 0


command = Command()
