"""Networks of k-input lookup tables trained by pure memorization (Chatterjee 2018, "Learning and
Memorization", Tables 1-4 and Figure 1).

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``analysis``: its tables, figures, report section and claims; a compute module, if any, holds
its jobs other than training (kept apart so that editing the analysis or a caption reruns no job).
"""
