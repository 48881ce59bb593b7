from .stage_cyclic_lr import StageCyclicLR, StageCyclicParamScheduler

__all__ = ['StageCyclicLR', 'StageCyclicParamScheduler']
