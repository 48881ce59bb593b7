from .checkpoint import trust_checkpoints

__all__ = ['trust_checkpoints']
