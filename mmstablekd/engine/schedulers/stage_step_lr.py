"""Step decay restarted at every training stage (SSKD, Gao et al., Sec. 3.3)."""
from typing import List, Optional, Sequence

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF

from mmstablekd.registry import PARAM_SCHEDULERS
from .staged_param_scheduler import StagedParamScheduler


class StageStepParamScheduler(StagedParamScheduler):
    r"""Per-stage step decay: back to the initial value at every stage start.

    With ``v0`` the optimizer's initial value (e.g. ``optimizer.lr``), stage ``s`` spanning
    steps ``[S_s, S_s + L_s)`` and ``m`` the number of ``milestones`` :math:`f_k` (fractions
    of a stage) that step ``t`` has reached, i.e.
    :math:`t - S_s \ge \max(1, \mathrm{round}(f_k L_s))` (every stage starts at ``v0``):

    .. math:: v(t) = v_0 \cdot r_s \cdot \gamma^{m}

    with :math:`r_s` the stage's entry of ``stage_factors`` (default 1).

    SSKD's paper trains every stage with LR 0.01 and x0.1 at epochs 18/36/54 of 60 (ImageNet),
    i.e. ``milestones=(0.3, 0.6, 0.9)``, ``gamma=0.1``, restarted for every stage. Stage
    lengths are derived from the scheduler's span ``end - begin`` (by default
    ``train_cfg.max_epochs``) with the rule the ``SSKDStageHook`` uses (an even split, the last
    stage takes the rest), unless ``stage_epochs`` is given; so the schedule follows
    ``train_cfg.max_epochs``. With ``convert_to_iter_based=True`` the milestones fall on
    iterations, so even one-epoch stages get their steps.

    Args:
        optimizer: Wrapped optimizer.
        param_name (str): Parameter to schedule.
        num_stages (int): Number of training stages (SSKD: backbone stages + 1 head phase).
        stage_epochs (Sequence[int], optional): Explicit epochs (or iterations when
            ``by_epoch=False``) per stage; must match the stage hook's.
        milestones (Sequence): Increasing fractions in (0, 1) of a stage at which the
            value is multiplied by ``gamma``, the same for every stage, or one such list per
            stage (an empty one: constant). Defaults to (0.3, 0.6, 0.9).
        gamma (float): Decay factor in (0, 1]. Defaults to 0.1.
        stage_factors (Sequence[float], optional): Start value of every stage as a multiple
            of ``v0`` (one number > 0 per stage). Defaults to 1 for every stage.
        begin, end, last_step, by_epoch, verbose: as in MMEngine's schedulers.
        epoch_length (int, optional): Iterations per epoch, set when converted to iter-based.
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 num_stages: int,
                 stage_epochs: Optional[Sequence[int]] = None,
                 milestones: Sequence[float] = (0.3, 0.6, 0.9),
                 gamma: float = 0.1,
                 stage_factors: Optional[Sequence[float]] = None,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False,
                 epoch_length: Optional[int] = None):
        self.check_num_stages(num_stages)
        self.stage_milestones = _per_stage(milestones, num_stages)
        factors = [1.0] * num_stages if stage_factors is None else list(stage_factors)
        if len(factors) != num_stages or not all(
                isinstance(f, (int, float)) and not isinstance(f, bool) and f > 0
                for f in factors):
            raise ValueError(f'param_scheduler.stage_factors must be {num_stages} numbers > 0, '
                             f'got {stage_factors}')
        self.stage_factors = [float(f) for f in factors]
        if not 0 < gamma <= 1:
            raise ValueError(f'param_scheduler.gamma must be in (0, 1], got {gamma}')
        self.milestones = milestones
        self.gamma = float(gamma)
        super().__init__(optimizer, param_name, num_stages, stage_epochs, begin, end,
                         last_step, by_epoch, verbose, epoch_length)

    def factor_at(self, step: int) -> float:
        """Value / initial value at ``step`` steps after ``begin``."""
        stage, offset, length = self.stage_at(step)
        done = sum(offset >= max(1, round(f * length)) for f in self.stage_milestones[stage])
        return self.stage_factors[stage] * self.gamma**done


def _per_stage(milestones, num_stages: int) -> List[List[float]]:
    """``milestones`` (one list for every stage, or one list per stage) as one list per stage."""
    milestones = [list(m) if isinstance(m, (list, tuple)) else m for m in milestones]
    per_stage = milestones if milestones and all(isinstance(m, list) for m in milestones) \
        else [milestones] * num_stages
    if len(per_stage) != num_stages:
        raise ValueError(f'param_scheduler.milestones has {len(per_stage)} per-stage lists for '
                         f'{num_stages} stages')
    for fracs in per_stage:
        if not all(isinstance(f, (int, float)) and 0 < f < 1 for f in fracs) \
                or fracs != sorted(set(fracs)):
            raise ValueError(f'param_scheduler.milestones must be increasing fractions of a '
                             f'stage in (0, 1), got {milestones}')
    return [[float(f) for f in fracs] for fracs in per_stage]


@PARAM_SCHEDULERS.register_module()
class StageStepLR(LRSchedulerMixin, StageStepParamScheduler):
    """SSKD's per-stage step-decay learning rate; see :class:`StageStepParamScheduler`.

    Example::

        param_scheduler = dict(type='StageStepLR', num_stages=5, milestones=(0.3, 0.6, 0.9),
                               gamma=0.1, by_epoch=True, convert_to_iter_based=True)
    """
