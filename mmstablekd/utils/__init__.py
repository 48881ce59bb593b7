from .checkpoint import (CheckpointError, UnsafeCheckpointError, load_checkpoint_file,
                         mmengine_checkpoints)

__all__ = ['CheckpointError', 'UnsafeCheckpointError', 'load_checkpoint_file',
           'mmengine_checkpoints']
