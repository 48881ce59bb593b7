"""The targets the benchmark report checks (from issues 6, 11 and 12), as data.

:mod:`kdbench.benchmark` measures; this table says what is compared with what and the limit.
Changing a target (or adding one) is an edit here, not in the benchmark code.

Timing targets (``TIMING`` at digits size, ``PAPER_TIMING`` at paper size) compare
``ratio(method, stage) / ratio(over, over_stage)``, where ``ratio`` is a row's paired time
ratio to the reference method (KD) and ``over=None`` means the reference itself (1.0); met
when the value is ``<= limit``.

``CONVERGENCE``: ``method`` at the base budget E reaches ``vs`` at ``vs_multiple`` x E
(median top-1 over seeds, ``>=``).

``REACH`` (low-data rows only): ``method`` needs at most ``limit`` of ``ref``'s epochs to
reach ``ref``'s final accuracy.
"""

TIMING = [
    dict(what='StableKD-5/2 iteration time ÷ KD (epoch mean)',
         method='StableKD-5/2', stage='epoch mean', over=None, over_stage=None, limit=1.0),
    dict(what='StableKD-5/2 ÷ StableKD-1/0 (KD in the same machinery)',
         method='StableKD-5/2', stage='epoch mean', over='StableKD-1/0', over_stage=None,
         limit=1.0),
    dict(what='our KD step ÷ plain PyTorch KD step',
         method='KD', stage=None, over='Plain PyTorch KD', over_stage=None, limit=1.05),
]

PAPER_TIMING = [
    dict(what='Paper size: StableKD-5/2 iteration time ÷ KD (epoch mean)',
         method='StableKD-5/2', stage='epoch mean', over=None, over_stage=None, limit=0.97),
]

CONVERGENCE = [
    dict(method='StableKD-5/2', vs='KD', vs_multiple=3),
]

REACH = [
    dict(method='StableKD-5/2', ref='KD', limit=1 / 3),
]
