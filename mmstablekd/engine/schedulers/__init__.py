from .one_cycle_momentum import OneCycleMomentum, OneCycleMomentumParamScheduler
from .stage_cyclic_lr import StageCyclicLR, StageCyclicParamScheduler
from .stage_cyclic_momentum import StageCyclicMomentum
from .stage_step_lr import StageStepLR, StageStepParamScheduler

__all__ = ['OneCycleMomentum', 'OneCycleMomentumParamScheduler', 'StageCyclicLR',
           'StageCyclicMomentum', 'StageCyclicParamScheduler', 'StageStepLR',
           'StageStepParamScheduler']
