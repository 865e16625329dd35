"""The xnor-popcount kernel (Courbariaux et al. 2016, Sec. 4): the packed binary product against
torch.matmul on the device of this run.

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``tables``: its tidy tables from the runs; ``figures``: its figures from the tables; ``section``:
its report section; ``claims``: its claims; ``analysis`` gathers those four for the registry.
``measure``: the benchmark job (kept apart so that editing the analysis or a caption reruns no
job).
"""
