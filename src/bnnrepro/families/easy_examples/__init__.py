"""Easy examples after one epoch (Mehta et al. 2017, Fig 5, after Arpit et al. 2017): are some
training examples consistently easier than others?

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``analysis``: its tables, figures, report section and claims; a compute module, if any, holds
its jobs other than training (kept apart so that editing the analysis or a caption reruns no job).
"""
