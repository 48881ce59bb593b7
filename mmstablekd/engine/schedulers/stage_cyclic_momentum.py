"""Per-stage cyclic momentum, inverse to StableKD's cyclic learning rate (PyTorch CyclicLR)."""
from typing import List, Optional, Sequence

from mmengine.logging import MMLogger
from mmengine.optim.scheduler.momentum_scheduler import MomentumSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF

from mmstablekd.registry import PARAM_SCHEDULERS
from .stage_cyclic_lr import StageCyclicParamScheduler


@PARAM_SCHEDULERS.register_module()
class StageCyclicMomentum(MomentumSchedulerMixin, StageCyclicParamScheduler):
    r"""Momentum that mirrors :class:`StageCyclicLR`: one inverted triangle per stage.

    DnD (Table 5) runs PyTorch's ``CyclicLR`` with its defaults, and those cycle the momentum
    inversely to the learning rate (``cycle_momentum=True``, ``base_momentum=0.8``,
    ``max_momentum=0.9``) with the same ``triangular2`` amplitude halving. With the stage
    arithmetic of :class:`StageCyclicLR` (stage ``s`` spanning ``[S_s, S_s + L_s)``,
    ``u = (t - S_s) / L_s``):

    .. math::
        m(t) = m_{max} - \frac{m_{max} - m_{base}}{2^s} \cdot
            \begin{cases} 2u & u < 1/2 \\ 2(1 - u) & u \ge 1/2 \end{cases}

    so the momentum is ``max_momentum`` where the LR is at its base and lowest where the LR
    peaks. The value is a closed form in the iteration, so a resumed run continues exactly.
    It sets SGD's ``momentum`` (or Adam's ``beta_0``); the optimizer's own momentum is
    replaced, which is logged once when the scheduler is built (a warning when
    ``max_momentum`` exceeds the optimizer's momentum).

    Args:
        optimizer: Wrapped optimizer (must have ``momentum`` or ``betas``).
        num_stages (int): n+1 for StableKD-k/n (the same as the ``StageCyclicLR``'s).
        stage_epochs (Sequence[int], optional): explicit epochs per stage.
        base_momentum (float): Lowest momentum (mid-stage 0). Defaults to 0.8 (PyTorch).
        max_momentum (float): Momentum at every stage's ends. Defaults to 0.9 (PyTorch).
        begin, end, last_step, by_epoch, verbose, epoch_length: as in
            :class:`StageCyclicParamScheduler`.

    Example::

        param_scheduler = [
            dict(type='StageCyclicLR', num_stages=3, by_epoch=True, convert_to_iter_based=True),
            dict(type='StageCyclicMomentum', num_stages=3, by_epoch=True,
                 convert_to_iter_based=True)]
    """

    def __init__(self,
                 optimizer,
                 num_stages: int,
                 stage_epochs: Optional[Sequence[int]] = None,
                 base_momentum: float = 0.8,
                 max_momentum: float = 0.9,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False,
                 epoch_length: Optional[int] = None):
        if not 0 <= base_momentum <= max_momentum < 1:
            raise ValueError('param_scheduler StageCyclicMomentum: need 0 <= base_momentum <= '
                             f'max_momentum < 1, got {base_momentum} and {max_momentum}')
        self.base_momentum = base_momentum
        self.max_momentum = max_momentum
        super().__init__(optimizer, num_stages, stage_epochs, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose,
                         epoch_length=epoch_length)

    def log_range(self) -> None:
        """Log once what replaces the optimizer's momentum (see class doc)."""
        initial = max(group['initial_momentum'] for group in self.optimizer.param_groups)
        msg = (f'{type(self).__name__}: momentum cycles between {self.max_momentum:g} (stage '
               f'ends) and {self.base_momentum:g} (mid-stage), replacing the optimizer\'s '
               f'momentum {initial:g}.')
        logger = MMLogger.get_current_instance()
        if self.max_momentum > initial:
            logger.warning(msg + ' max_momentum is above the optimizer\'s momentum.')
        else:
            logger.info(msg)

    def momentum_at(self, step: int) -> float:
        """Momentum at ``step`` steps after ``begin``."""
        stage, tri = self.triangle_at(step)
        return self.max_momentum - (self.max_momentum - self.base_momentum) / 2**stage * tri

    def _get_value(self) -> List[float]:
        value = self.momentum_at(self.last_step - self.begin)
        return [value for _ in self.optimizer.param_groups]
