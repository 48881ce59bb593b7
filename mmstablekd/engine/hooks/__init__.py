from .iboe_hook import IBOEHook
from .sskd_stage_hook import SSKDStageHook
from .stablekd_stage_hook import StableKDStageHook
from .student_checkpoint_hook import StudentCheckpointHook

__all__ = ['IBOEHook', 'SSKDStageHook', 'StableKDStageHook', 'StudentCheckpointHook']
