"""PyTorch ``OneCycleLR``'s momentum cycle (0.95 -> 0.85 -> 0.95) as an MMEngine scheduler."""
import math
from typing import List, Optional

from mmengine.optim.scheduler.momentum_scheduler import MomentumSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from mmstablekd.registry import PARAM_SCHEDULERS
from .staged_param_scheduler import StagedParamScheduler


class OneCycleMomentumParamScheduler(_ParamScheduler):
    r"""The momentum half of PyTorch's ``OneCycleLR`` (``cycle_momentum=True``, two phases).

    Over ``T = end - begin`` steps, with ``e = pct_start * T - 1`` the last step of the warm-up
    (PyTorch's phase boundary, possibly fractional):

    .. math::
        m(t) = \begin{cases}
            A(m_{max}, m_{base}, t / e) & t \le e \\
            A(m_{base}, m_{max}, (t - e) / (T - 1 - e)) & t > e
        \end{cases}

    where :math:`A(a, b, p)` is ``b + (a - b) (1 + cos(pi p)) / 2`` (``'cos'``) or
    ``a + (b - a) p`` (``'linear'``). The momentum falls from ``max_momentum`` to
    ``base_momentum`` while PyTorch's LR rises, and climbs back while it anneals. A closed form
    in the step, so a resumed run continues exactly. Use it next to MMEngine's ``OneCycleLR``
    (which schedules only the LR) with the same ``pct_start``, ``anneal_strategy`` and span.

    Args:
        optimizer: Wrapped optimizer (``momentum``, or Adam's ``betas``).
        param_name (str): Parameter to schedule.
        base_momentum (float): Lowest momentum, at the LR peak. Defaults to 0.85 (PyTorch).
        max_momentum (float): Momentum at the start and the end. Defaults to 0.95 (PyTorch).
        pct_start (float): Share of the steps spent on the warm-up. Defaults to 0.3.
        anneal_strategy (str): ``'cos'`` or ``'linear'``. Defaults to ``'cos'``.
        begin, end, last_step, by_epoch, verbose: as in MMEngine's schedulers; ``end``
            defaults to ``train_cfg.max_epochs`` when left unset in a config.
        epoch_length (int, optional): Iterations per epoch, set when converted to
            iteration-based (recorded only; ``begin``/``end`` are already in iterations).
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 base_momentum: float = 0.85,
                 max_momentum: float = 0.95,
                 pct_start: float = 0.3,
                 anneal_strategy: str = 'cos',
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False,
                 epoch_length: Optional[int] = None):
        name = f'param_scheduler {type(self).__name__}'
        if not 0 <= base_momentum <= max_momentum < 1:
            raise ValueError(f'{name}: need 0 <= base_momentum <= max_momentum < 1, got '
                             f'{base_momentum} and {max_momentum}')
        if not 0 < pct_start < 1:
            raise ValueError(f'{name}: pct_start must be in (0, 1), got {pct_start}')
        if anneal_strategy not in ('cos', 'linear'):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got "
                             f'{anneal_strategy!r}')
        if end == INF:
            raise ValueError(f'{name} needs a finite `end`; leave it unset to use '
                             'train_cfg.max_epochs')
        self.base_momentum = float(base_momentum)
        self.max_momentum = float(max_momentum)
        self.pct_start = float(pct_start)
        self.anneal_strategy = anneal_strategy
        self.total_steps = end - begin
        self.epoch_length = epoch_length
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    # Epoch-based configs are converted as the staged schedulers' (begin/end x epoch_length).
    build_iter_from_epoch = classmethod(StagedParamScheduler.build_iter_from_epoch.__func__)

    def _anneal(self, start: float, stop: float, pct: float) -> float:
        if self.anneal_strategy == 'cos':
            return stop + (start - stop) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (stop - start) * pct + start

    def momentum_at(self, step: int) -> float:
        """Momentum at ``step`` steps after ``begin`` (PyTorch's phase arithmetic)."""
        warm_end = self.pct_start * self.total_steps - 1
        if step <= warm_end:
            return self._anneal(self.max_momentum, self.base_momentum, step / warm_end)
        pct = (step - warm_end) / (self.total_steps - 1 - warm_end)
        return self._anneal(self.base_momentum, self.max_momentum, pct)

    def _get_value(self) -> List[float]:
        value = self.momentum_at(self.last_step - self.begin)
        return [value for _ in self.optimizer.param_groups]


@PARAM_SCHEDULERS.register_module()
class OneCycleMomentum(MomentumSchedulerMixin, OneCycleMomentumParamScheduler):
    """PyTorch ``OneCycleLR``'s momentum cycle; see :class:`OneCycleMomentumParamScheduler`.

    Example (DnD's OneCycle, PyTorch's defaults)::

        param_scheduler = [
            dict(type='OneCycleLR', eta_max=0.5, by_epoch=True, convert_to_iter_based=True),
            dict(type='OneCycleMomentum', base_momentum=0.85, max_momentum=0.95,
                 by_epoch=True, convert_to_iter_based=True)]
    """
