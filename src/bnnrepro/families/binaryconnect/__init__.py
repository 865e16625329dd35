"""BinaryConnect (Courbariaux et al. 2015; reproduced by Luo et al. 2016): binary weights as a
regularizer, and what binarization does to the latent weights.

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``analysis``: its tables, figures, report section and claims; a compute module, if any, holds
its jobs other than training (kept apart so that editing the analysis or a caption reruns no job).
"""
