"""The registry of experiment families: what the workflow rules, the report and the claim
checklist iterate over, in the order of the report.

Adding a family: a package with a ``FAMILY`` declaration in its ``declaration.py``, its
``tables``, ``figures``, ``section`` and ``claims`` modules and an ``analysis.py`` gathering them
(see :mod:`bnnrepro.families.base`), listed here (CONTRIBUTING.md, "Add an experiment family").
"""

from __future__ import annotations

import importlib
from types import ModuleType

from bnnrepro.errors import ConfigError
from bnnrepro.families.base import Family
from bnnrepro.families.binaryconnect import declaration as binaryconnect
from bnnrepro.families.easy_examples import declaration as easy_examples
from bnnrepro.families.efficiency import declaration as efficiency
from bnnrepro.families.kernels import declaration as kernels
from bnnrepro.families.lookup_tables import declaration as lookup_tables
from bnnrepro.families.memorization import declaration as memorization

#: In the order of the report.
FAMILY_MODULES = [
    memorization,
    easy_examples,
    efficiency,
    binaryconnect,
    lookup_tables,
    kernels,
]
FAMILIES: dict[str, Family] = {module.FAMILY.name: module.FAMILY for module in FAMILY_MODULES}


def get(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(f"unknown experiment family {name!r}; known: {', '.join(FAMILIES)}") from None


def analysis(name: str) -> ModuleType:
    """What a family computes: its ``analysis`` module, which gathers ``make_tables``,
    ``make_figures``, ``section`` and ``CLAIMS`` (imported on demand: it imports pandas and
    matplotlib)."""
    return importlib.import_module(get(name).analysis)
