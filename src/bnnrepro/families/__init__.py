"""The experiment families of the study, one package each: memorization, easy examples,
efficiency, BinaryConnect, lookup tables and kernels.

What a family declares and what it computes: :mod:`bnnrepro.families.base`; the registry:
:mod:`bnnrepro.families.registry`. The learners they run (:mod:`bnnrepro.train`,
:mod:`bnnrepro.lutnet`, :mod:`bnnrepro.kernels`) know nothing of families.
"""
