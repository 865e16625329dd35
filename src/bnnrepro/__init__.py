"""bnnrepro: regenerate, check and extend the study of memorization in binarized neural networks.

Data flows one way: :mod:`bnnrepro.data` -> :mod:`bnnrepro.nn` -> :mod:`bnnrepro.train`
-> tidy CSV files -> :mod:`bnnrepro.plots` -> :mod:`bnnrepro.report`.
"""

__version__ = "0.1.0"
