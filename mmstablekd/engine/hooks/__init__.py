from .stablekd_stage_hook import StableKDStageHook
from .student_checkpoint_hook import StudentCheckpointHook

__all__ = ['StableKDStageHook', 'StudentCheckpointHook']
