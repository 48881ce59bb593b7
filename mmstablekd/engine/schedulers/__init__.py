from .stage_cyclic_lr import StageCyclicLR, StageCyclicParamScheduler
from .stage_cyclic_momentum import StageCyclicMomentum
from .stage_step_lr import StageStepLR, StageStepParamScheduler

__all__ = ['StageCyclicLR', 'StageCyclicMomentum', 'StageCyclicParamScheduler', 'StageStepLR',
           'StageStepParamScheduler']
