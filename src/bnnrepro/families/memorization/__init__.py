"""Memorization of random labels (Mehta et al. 2017, Figs 1-4): class-wise train and test error by
epoch, per condition.

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``tables``: its tidy tables from the runs; ``figures``: its figures from the tables; ``section``:
its report section; ``claims``: its claims; ``analysis`` gathers those four for the registry.
"""
