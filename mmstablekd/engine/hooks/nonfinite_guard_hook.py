"""Stop training at the first non-finite loss, and never save non-finite weights."""
import math
import os.path as osp
from typing import Dict, List

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmpretrain.utils import get_ori_model

from mmstablekd.registry import HOOKS


class NonFiniteError(RuntimeError):
    """Training produced a non-finite (NaN or inf) loss or weight."""


def non_finite_values(values: Dict[str, object]) -> Dict[str, float]:
    """The entries of ``values`` (tensors or numbers) that are not finite, as floats.

    A tensor entry (any shape) counts as non-finite if any of its elements is. One fused
    norm over all tensors answers the common all-finite case (a NaN/inf element makes its
    norm non-finite); only then, or if the norm overflows, is every tensor looked at.
    """
    tensors = [v.detach() for v in values.values()
               if isinstance(v, torch.Tensor) and v.is_floating_point() and v.numel()]
    floats = [v for v in values.values() if isinstance(v, float)]
    if _all_finite(tensors) and all(math.isfinite(v) for v in floats):
        return {}
    bad = {}
    for name, value in values.items():
        if isinstance(value, torch.Tensor):
            if value.is_floating_point() and not bool(torch.isfinite(value.detach()).all()):
                bad[name] = float(value.detach().float().mean())
        elif isinstance(value, float) and not math.isfinite(value):
            bad[name] = value
    return bad


def _all_finite(tensors: List[torch.Tensor]) -> bool:
    if not tensors:
        return True
    try:
        norms = torch._foreach_norm(tensors)
        return bool(torch.isfinite(torch.stack(norms)).all())
    except RuntimeError:  # e.g. tensors on several devices
        return False


def last_checkpoint(work_dir: str) -> str:
    """The path in ``work_dir/last_checkpoint`` (MMEngine's CheckpointHook), or a note."""
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(record):
        with open(record) as f:
            path = f.read().strip()
        if path:
            return path
    return f'none (no checkpoint was saved in {work_dir} before)'


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Raise :class:`NonFiniteError` as soon as a loss term or a saved weight is NaN/inf.

    * After every training iteration the logged loss terms (``outputs`` of the train step,
      e.g. ``loss_cls``, ``loss_mse_b3``, ``loss``) are checked. The error names the
      non-finite terms, the iteration and epoch and the last checkpoint written before (all of
      them had finite weights). In distributed runs all ranks agree on the verdict (one
      all-reduce of a flag per iteration), so every rank stops, none waits for the others.
    * Before any checkpoint is written (``before_save_checkpoint``) and after every epoch
      (before the checkpoint hooks: this hook's priority is higher) the model's floating
      point weights and buffers are checked, so no file with non-finite weights is saved.

    Opt out with ``enabled=False`` (e.g. ``--cfg-options
    default_hooks.nonfinite_guard.enabled=False``) to let training run on through NaNs.

    Args:
        enabled (bool): Check at all. Defaults to True.
    """

    priority = 'HIGH'

    def __init__(self, enabled: bool = True) -> None:
        if not isinstance(enabled, bool):
            raise TypeError(f'NonFiniteGuardHook.enabled must be a bool, got {enabled!r}')
        self.enabled = enabled

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Stop at a non-finite loss term."""
        if not self.enabled or not isinstance(outputs, dict):
            return
        bad = non_finite_values(outputs)
        if get_world_size() > 1:
            flag = torch.tensor([float(bool(bad))], device=_device(outputs))
            all_reduce(flag)
            if flag.item() == 0:
                return
        elif not bad:
            return
        terms = [k for k in bad if k != 'loss'] or list(bad)
        where = (f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}, batch '
                 f'{batch_idx + 1}/{len(runner.train_dataloader)})')
        found = ', '.join(f'{k}={bad[k]}' for k in terms) or 'on another rank'
        msg = (f'Non-finite loss {found} at {where}: training diverged and was stopped; no '
               f'checkpoint was written after it. Last good checkpoint: '
               f'{last_checkpoint(runner.work_dir)}. Lower the learning rate (or check the '
               'data and the loss weights); to train on regardless, set '
               'default_hooks.nonfinite_guard.enabled=False.')
        runner.logger.error(msg)
        raise NonFiniteError(msg)

    def after_train_epoch(self, runner) -> None:
        """Check the weights before the epoch's checkpoints are written."""
        self._check_weights(runner, get_ori_model(runner.model).state_dict(),
                            f'after epoch {runner.epoch + 1}')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to write a checkpoint with non-finite weights."""
        self._check_weights(runner, checkpoint.get('state_dict', {}), 'in the checkpoint')

    def _check_weights(self, runner, state: dict, when: str) -> None:
        if not self.enabled:
            return
        names: List[str] = list(non_finite_values(state))
        if not names:
            return
        shown = ', '.join(names[:5]) + (f' and {len(names) - 5} more' if len(names) > 5 else '')
        msg = (f'Non-finite weights {when} ({len(names)} tensors: {shown}): training diverged '
               'and was stopped without saving them. Last good checkpoint: '
               f'{last_checkpoint(runner.work_dir)}. Lower the learning rate; to train on '
               'regardless, set default_hooks.nonfinite_guard.enabled=False.')
        runner.logger.error(msg)
        raise NonFiniteError(msg)


def _device(outputs: dict) -> torch.device:
    for value in outputs.values():
        if isinstance(value, torch.Tensor):
            return value.device
    return torch.device('cpu')
