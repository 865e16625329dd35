"""The registry of experiment families: what the workflow rules, the report and the claim
checklist iterate over, in the order of the report.

Adding a family: a package with a ``FAMILY`` declaration in its ``__init__.py`` and an
``analysis.py`` (see :mod:`bnnrepro.families.base`), listed here (README, "Adding an experiment
family").
"""

from __future__ import annotations

import importlib
from types import ModuleType

from bnnrepro.families import memorization
from bnnrepro.errors import ConfigError
from bnnrepro.families.base import Family

FAMILIES: dict[str, Family] = {module.FAMILY.name: module.FAMILY for module in (memorization,)}


def get(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(f"unknown experiment family {name!r}; known: {', '.join(FAMILIES)}") from None


def analysis(name: str) -> ModuleType:
    """The analysis module of a family (imported on demand: it imports pandas and matplotlib)."""
    return importlib.import_module(get(name).analysis)
