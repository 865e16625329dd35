"""BinaryConnect (Courbariaux et al. 2015; reproduced by Luo et al. 2016): binary weights as a
regularizer, and what binarization does to the latent weights.

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``tables``: its tidy tables from the runs; ``figures``: its figures from the tables; ``section``:
its report section; ``claims``: its claims; ``analysis`` gathers those four for the registry.
"""
