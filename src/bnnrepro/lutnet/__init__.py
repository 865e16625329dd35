"""Networks of lookup tables trained by pure memorization (Chatterjee 2018, "Learning and
Memorization"), and the standard methods he compares them with: the learner, family-free.

>>> from bnnrepro.lutnet import LutNetwork
>>> net = LutNetwork(k=8, hidden_layers=5, width=1024, seed=0).fit(x_bits, y)   # doctest: +SKIP
>>> net.score(x_test_bits, y_test)                                               # doctest: +SKIP

Modules: :mod:`~bnnrepro.lutnet.network` (the model and the vectorised lut rule) and
:mod:`~bnnrepro.lutnet.baselines` (Table 1's standard methods). Chatterjee's experiments (the tasks,
Tables 1-4) are the lookup-table family's: :mod:`bnnrepro.families.lookup_tables`.
"""

from bnnrepro.lutnet.baselines import BASELINES, LeNetClassifier, make_baseline
from bnnrepro.lutnet.network import MAX_K, LutNetwork, layer_statistics

__all__ = ["BASELINES", "MAX_K", "LeNetClassifier", "LutNetwork", "layer_statistics", "make_baseline"]
