"""Networks of k-input lookup tables trained by pure memorization (Chatterjee 2018, "Learning and
Memorization", Tables 1-4 and Figure 1).

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``tables``: its tidy tables from the runs; ``figures``: its figures from the tables; ``section``:
its report section; ``claims``: its claims; ``analysis`` gathers those four for the registry.
``layout``: the paper's tables beside ours; ``compute``: Chatterjee's tables as jobs (kept apart
so that editing the analysis or a caption reruns no job).
"""
