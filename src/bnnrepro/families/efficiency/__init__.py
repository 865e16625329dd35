"""Binary vs float MLPs on Fashion-MNIST (Srivastava et al., DA422 course report): emulated training
cost and accuracy, and what a BNN does promise at inference (packed size, latency, throughput).

``declaration``: what the family runs and writes (read by the workflow; no heavy imports);
``tables``: its tidy tables from the runs; ``figures``: its figures from the tables; ``section``:
its report section; ``claims``: its claims; ``analysis`` gathers those four for the registry.
``inference``: the inference job (packed exports, interleaved float vs packed timings), kept apart
so that editing the analysis or a caption reruns no job.
"""
