"""Mixed precision on CPU: bf16 autocast around the forward pass."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from mmstablekd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` that runs the forward pass under CPU autocast.

    MMEngine's ``AmpOptimWrapper`` requires a GPU/NPU/MLU; ``tools/train.py --amp`` selects
    this wrapper when no CUDA device is present. bf16 has fp32's exponent range, so no loss
    scaling is needed; losses that must stay fp32 (KL, DIST, MSE) cast their inputs up.

    Args:
        dtype (str): ``'bfloat16'`` (default) or ``'float16'``.
        **kwargs: as for :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f'optim_wrapper.dtype must be "bfloat16" or "float16", got {dtype!r}')
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of the parent plus CPU autocast."""
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield
