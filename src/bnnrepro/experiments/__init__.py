"""Experiment families: each module turns a family's run results into tables and figures.

Their CLI commands (called by the Snakemake rules) are listed in :data:`COMMANDS` and loaded
lazily by :mod:`bnnrepro.cli`: (command path, module with ``add_arguments``/``run``, help).
"""

from __future__ import annotations

COMMANDS: tuple[tuple[tuple[str, ...], str, str], ...] = ()
