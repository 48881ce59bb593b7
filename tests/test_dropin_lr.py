"""Issue 20 item 2: StableKD's schedule dropped into a user's config never silently raises the
LR, and the shipped StableKD configs keep the paper's range (base 3e-3*lr, peak 10*lr)."""
import logging
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmstablekd.registry import PARAM_SCHEDULERS

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)

# An UNMODIFIED mmpretrain config; only the model and the schedule are swapped (the README's
# "Use it from any MMPretrain config" recipe, without stating the ratios).
USER_CONFIG = '''_base_ = ['mmpretrain::resnet/resnet18_8xb16_cifar10.py']
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)
model = dict(
    _delete_=True, type='StableKD', student=_base_.model,
    teacher=dict(_base_.model, backbone=dict(_base_.model.backbone, depth=34)),
    boundaries=['backbone.layer1', 'backbone.layer2', 'backbone.layer3', 'backbone.layer4'],
    num_recompositions=2, distill_loss=dict(type='KDLoss', tau=1.0),
    feature_loss=dict(type='FeatureMSELoss'))
param_scheduler = dict(_delete_=True, type='StageCyclicLR', num_stages=3, by_epoch=True,
                       convert_to_iter_based=True)
custom_hooks = [dict(type='StableKDStageHook')]
train_cfg = dict(max_epochs=3)
'''


STABLEKD = [p for p in CONFIGS if 'stablekd' in p.name or p.parent.name == 'stablekd']


def stage_cyclic_lr_cfgs(cfg) -> list:
    scheds = cfg.get('param_scheduler') or []
    scheds = [scheds] if isinstance(scheds, dict) else list(scheds)
    return [s for s in scheds if s.get('type') == 'StageCyclicLR']


@pytest.mark.parametrize('path', [p for p in STABLEKD if p.parent.name != 'mask_rcnn'],
                         ids=lambda p: str(p.relative_to(REPO / 'configs')))
def test_shipped_configs_keep_the_paper_lr_curve(path):
    """Pinned values: LR(t) / optimizer lr follows base 3e-3, peak 10, halving per stage."""
    cfg = Config.fromfile(str(path))
    scheds = stage_cyclic_lr_cfgs(cfg)
    if not scheds:  # an ablation with its own schedule (OneCycle: StableKD-1/0, -3/0, -5/0)
        assert cfg.model.get('num_recompositions', 0) == 0  # (or a deploy-only config)
        return
    (sched_cfg, ) = scheds
    assert sched_cfg.base_ratio == 3e-3 and sched_cfg.peak_ratio == 10.0  # stated, not default
    lr = cfg.optim_wrapper.optimizer.lr
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    epochs, per_epoch = cfg.train_cfg.max_epochs, 4
    args = {k: v for k, v in sched_cfg.items() if k not in ('type', 'convert_to_iter_based')}
    sched = PARAM_SCHEDULERS.get('StageCyclicLR').build_iter_from_epoch(
        opt, end=epochs, epoch_length=per_epoch, **args)
    first = sched.stage_lengths[0]
    values = {}
    for it in range(first + 1):
        values[it] = opt.param_groups[0]['lr']
        opt.step()
        sched.step()
    assert values[0] == pytest.approx(3e-3 * lr)
    assert values[first // 2] == pytest.approx(10 * lr)
    assert values[first] == pytest.approx(3e-3 * lr)
    assert values[first // 4] == pytest.approx(3e-3 * lr + (10 - 3e-3) * lr * (first // 4)
                                               / (first / 2))


def test_unmodified_mmpretrain_config_peaks_at_its_own_lr(data_override, tmp_path):
    from mmengine.runner import Runner
    user = tmp_path / 'user.py'
    user.write_text(USER_CONFIG)
    cfg = Config.fromfile(data_override(str(user), name='over.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.teacher_ckpt = None
    runner = Runner.from_cfg(cfg)
    seen = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: seen.append((record.levelno, record.getMessage()))
    MMLogger.get_current_instance().addHandler(handler)
    try:
        runner._train_loop = runner.build_train_loop(runner._train_loop)
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    lr = cfg.optim_wrapper.optimizer.lr
    assert lr == 0.1  # mmpretrain's own cifar10_bs16 schedule, untouched
    logged = [msg for level, msg in seen if 'StageCyclicLR' in msg]
    assert len(logged) == 1 and f'peak {lr:.4g}' in logged[0]
    assert all(level < logging.WARNING for level, msg in seen if 'StageCyclicLR' in msg)
    (sched, ) = runner.param_schedulers
    assert sched.peak_ratio == 1.0
    opt = runner.optim_wrapper.optimizer
    peak = []
    for _ in range(sum(sched.stage_lengths)):
        peak.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    assert max(peak) == pytest.approx(lr)
