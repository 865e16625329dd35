"""The xnor-popcount kernel (Courbariaux et al. 2016, Sec. 4): the packed binary product against
torch.matmul on the device of this run.

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``analysis``: its tables, figures, report section and claims; a compute module, if any, holds
its jobs other than training (kept apart so that editing the analysis or a caption reruns no job).
"""
