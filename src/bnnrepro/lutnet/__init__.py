"""Networks of lookup tables trained by pure memorization (Chatterjee 2018, "Learning and
Memorization"), the baselines he compares them with, and his experiments as tidy tables.

>>> from bnnrepro.data import load_dataset
>>> from bnnrepro.lutnet import LutNetwork, make_task, table3
>>> raw = load_dataset("fashion_mnist", download=False)            # doctest: +SKIP
>>> task = make_task(raw, "binary")                                   # doctest: +SKIP
>>> net = LutNetwork(k=8, hidden_layers=5, width=1024, seed=0).fit(task.x_train, task.y_train)  # doctest: +SKIP
>>> net.score(task.x_test, task.y_test)                               # doctest: +SKIP
>>> table3(raw, ks=[2, 8, 16])                                        # doctest: +SKIP

Modules: :mod:`~bnnrepro.lutnet.network` (the model and the vectorised lut rule),
:mod:`~bnnrepro.lutnet.baselines` (Table 1's standard methods), :mod:`~bnnrepro.lutnet.experiments`
(Tables 1-4 and Figure 1 as DataFrames; their column schemas are documented there) and
:mod:`~bnnrepro.lutnet.cli` (``bnnrepro lutnet TABLE``).
"""

from bnnrepro.lutnet.baselines import BASELINES, LeNetClassifier, make_baseline
from bnnrepro.lutnet.experiments import (
    COLUMNS, LABELS, PAIR_COLUMNS, PAPER_KS, TABLE1_METHODS, TABLE2_COLUMNS, BitTask, all_pairs,
    fit_network, generalization_gap, make_task, pairwise, sweep, table1, table2, table3,
)
from bnnrepro.lutnet.network import MAX_K, LutNetwork, layer_statistics

__all__ = [
    "BASELINES", "COLUMNS", "LABELS", "LeNetClassifier", "LutNetwork", "MAX_K", "PAIR_COLUMNS",
    "PAPER_KS", "TABLE1_METHODS", "TABLE2_COLUMNS", "BitTask", "all_pairs", "fit_network",
    "generalization_gap", "layer_statistics", "make_baseline", "make_task", "pairwise", "sweep",
    "table1", "table2", "table3",
]
