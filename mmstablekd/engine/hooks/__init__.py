from .iboe_hook import IBOEHook
from .nonfinite_guard_hook import NonFiniteError, NonFiniteGuardHook
from .resume_state_hook import ResumeStateHook
from .sskd_stage_hook import SSKDStageHook
from .stablekd_stage_hook import StableKDStageHook
from .student_checkpoint_hook import StudentCheckpointHook
from .work_dir_lock_hook import WorkDirLockedError, WorkDirLockHook

__all__ = ['IBOEHook', 'NonFiniteError', 'NonFiniteGuardHook', 'ResumeStateHook',
           'SSKDStageHook', 'StableKDStageHook', 'StudentCheckpointHook', 'WorkDirLockedError',
           'WorkDirLockHook']
