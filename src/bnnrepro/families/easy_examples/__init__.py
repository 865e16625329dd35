"""Easy examples after one epoch (Mehta et al. 2017, Fig 5, after Arpit et al. 2017): are some
training examples consistently easier than others?

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``tables``: its tidy tables from the runs; ``figures``: its figures from the tables; ``section``:
its report section; ``claims``: its claims; ``analysis`` gathers those four for the registry.
"""
