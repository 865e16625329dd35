"""Efficiency family: what the registry gives the workflow verbs, the report and the claim checklist
(:func:`bnnrepro.families.registry.analysis`), gathered from the modules that compute it:
``tables`` (:func:`make_tables`), ``figures`` (:func:`make_figures`), ``section``
(:func:`section`) and ``claims`` (:data:`CLAIMS`)."""

from __future__ import annotations

from bnnrepro.families.efficiency.claims import CLAIMS
from bnnrepro.families.efficiency.figures import make_figures
from bnnrepro.families.efficiency.section import section
from bnnrepro.families.efficiency.tables import make_tables

__all__ = ["CLAIMS", "make_figures", "make_tables", "section"]
