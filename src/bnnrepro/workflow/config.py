"""The workflow's configuration: the messages of its validation, and the checks a schema cannot do.

Validation itself is Snakemake's ``validate`` (jsonschema, defaults filled) called by the Snakefile;
:func:`explain` turns its error into one line naming the key, what is wrong and how to fix it.
:func:`check` then runs every check that needs more than one key (regularizer names, class pairs,
every run's training settings), before any job starts. Nothing here imports torch.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
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


def check(config: Mapping) -> list[str]:
    """Every check beyond the schema; raises ConfigError on the first problem, returns warnings.

    Family checks (their own names, ...) come from each family's declaration; then every run's
    training settings are validated as ``bnnrepro train`` would, naming the run."""
    from bnnrepro.families.registry import FAMILIES
    from bnnrepro.train.config import TrainConfig

    warnings: list[str] = []
    for family in FAMILIES.values():
        if not family.enabled(config):
            continue
        problems, notes = family.check(config)
        if problems:
            raise ConfigError(f"invalid configuration: {problems[0]}")
        warnings.extend(notes)
        for run in family.runs(config):
            source = f"{family.name} run {run.key}"
            try:
                TrainConfig.from_dict(dict(run.settings), source).validate()
            except ConfigError as exc:
                message = str(exc)
                raise ConfigError(
                    f"invalid configuration: {message if message.startswith(source) else source + ': ' + message}"
                ) from None
    return warnings
