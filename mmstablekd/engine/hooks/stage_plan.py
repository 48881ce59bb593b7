"""The stage plan of a staged run, saved with every checkpoint and checked on resume.

A resumed run continues the saved schedule: the epoch counter, the LR scheduler state and the
stage all come from the checkpoint. If ``train_cfg.max_epochs``, the stage epochs or the number
of stages changed in between, the new plan and the restored state disagree (the stage can go
backwards, the LR freeze at its base value), so :func:`check_resumed_plan` refuses that resume.
The stage hooks (``StableKDStageHook``, ``SSKDStageHook``) store their plan with
:func:`save_plan` in ``before_save_checkpoint`` and check it in ``after_load_checkpoint``.
"""
from typing import Optional

from mmengine.runner import find_latest_checkpoint

PLAN_KEY = 'stage_plan'


def save_plan(checkpoint: dict, plan: dict) -> None:
    """Put ``plan`` (e.g. ``{'max_epochs': 6, 'stage_epochs': [2, 2, 2]}``) into the meta."""
    checkpoint.setdefault('meta', {})[PLAN_KEY] = dict(plan)


def saved_plan(checkpoint: dict) -> Optional[dict]:
    """The plan stored in ``checkpoint``; for checkpoints written before plans were stored,
    the stage epochs of a stage-cyclic scheduler state if there is one, else None."""
    plan = (checkpoint.get('meta') or {}).get(PLAN_KEY)
    if plan is not None:
        return dict(plan)
    states = checkpoint.get('param_schedulers') or []
    if isinstance(states, dict):
        states = [s for group in states.values() for s in group]
    for state in states:
        if isinstance(state, dict) and 'stage_epochs' in state and 'num_stages' in state:
            return dict(stage_epochs=list(state['stage_epochs']))
    return None


def check_resumed_plan(runner, checkpoint: dict, plan: dict, owner: str) -> None:
    """Raise if ``runner`` resumes ``checkpoint`` with a stage plan other than the saved one.

    Does nothing when the checkpoint is loaded with ``load_from`` (no resume): that starts a
    new schedule from the weights.

    Args:
        runner: The MMEngine runner (``runner._resume`` tells a resume from a load).
        checkpoint (dict): The loaded checkpoint.
        plan (dict): The current plan; keys are config fields, e.g. ``max_epochs``.
        owner (str): Who checks (named in the message), e.g. ``'StableKDStageHook'``.

    Raises:
        ValueError: naming every field that changed, old and new value.
    """
    if not getattr(runner, '_resume', False):
        return
    saved = saved_plan(checkpoint)
    if saved is None:
        return
    changed = [f'{_field(k)}: {saved[k]} -> {plan[k]}' for k in plan
               if k in saved and _norm(saved[k]) != _norm(plan[k])]
    if not changed:
        return
    path = runner._load_from or find_latest_checkpoint(runner.work_dir) or 'the checkpoint'
    raise ValueError(
        f'{owner}: cannot resume from {path}: the stage plan changed since it was saved ('
        + '; '.join(changed) + '). A resumed run continues the saved schedule (epoch, stage, '
        'LR scheduler state), which the new plan contradicts: the stage would jump and the LR '
        'would not follow the stages. Resume with the original settings, or start a new '
        f'schedule from these weights with load_from (no --resume): --cfg-options '
        f'load_from={path}')


def _field(key: str) -> str:
    return 'train_cfg.max_epochs' if key == 'max_epochs' else key


def _norm(value):
    return list(value) if isinstance(value, (list, tuple)) else value
