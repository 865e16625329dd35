"""Memorization of random labels (Mehta et al. 2017, Figs 1-4): class-wise train and test error by
epoch, per condition.

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``analysis``: its tables, figures, report section and claims; a compute module, if any, holds
its jobs other than training (kept apart so that editing the analysis or a caption reruns no job).
"""
