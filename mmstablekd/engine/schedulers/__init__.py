from .stage_cyclic_lr import StageCyclicLR, StageCyclicParamScheduler
from .stage_cyclic_momentum import StageCyclicMomentum

__all__ = ['StageCyclicLR', 'StageCyclicMomentum', 'StageCyclicParamScheduler']
