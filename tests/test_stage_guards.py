"""Issue 14, cases 3 and 4: staged distillers refuse to train without their stage hook,
StableKD warns about a non-stage-cyclic LR, and resume refuses a changed stage plan."""
import logging
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.engine.hooks.stablekd_stage_hook import warn_if_lr_not_stage_cyclic
from mmstablekd.engine.hooks.stage_plan import check_resumed_plan
from mmstablekd.utils.checkpoint import mmengine_checkpoints

TINY = '''
_w = dict(backbone=dict(stem_channels=4, base_channels=4), head=dict(num_classes=4,
          in_channels=32))
model = dict(student=_w, teacher=_w, teacher_ckpt=None)
train_cfg = dict(max_epochs=3, val_interval=3)
'''


def tiny(data_override, tmp_path, config='configs/stablekd/resnet18_r34_cifar100.py',
         name='cfg.py') -> Config:
    cfg = Config.fromfile(data_override(config, extra=TINY, batch_size=8, name=name))
    cfg.work_dir = str(tmp_path / Path(name).stem)
    return cfg


@pytest.mark.parametrize('config, hook', [
    ('configs/stablekd/resnet18_r34_cifar100.py', 'StableKDStageHook'),
    ('configs/sskd/resnet18_r34_cifar100.py', 'SSKDStageHook')])
def test_staged_distiller_refuses_to_train_without_its_hook(config, hook, data_override,
                                                            tmp_path):
    cfg = tiny(data_override, tmp_path, config)
    cfg.custom_hooks = [dict(type='StudentCheckpointHook')]
    if hook == 'SSKDStageHook':
        cfg.model.pop('stage_epochs', None)
        cfg.train_cfg.max_epochs = 5  # one epoch per phase (StageStepLR needs them)
    with pytest.raises(RuntimeError, match=f"no {hook} is registered.*dict\\(type='{hook}'\\)"):
        Runner.from_cfg(cfg).train()


class _Logger:
    def __init__(self):
        self.warnings = []

    def warning(self, msg):
        self.warnings.append(msg)


class _Sched:
    def __init__(self, name, **attrs):
        self.param_name = name
        self.__dict__.update(attrs)


def _runner(*schedulers):
    runner = type('R', (), {})()
    runner.param_schedulers = list(schedulers)
    runner.logger = _Logger()
    return runner


def test_stablekd_warns_when_the_lr_is_not_stage_cyclic():
    from mmengine.optim.scheduler import OneCycleLR
    cyclic = _Sched('lr', stage_epochs=[2, 2, 2], num_stages=3)
    one_cycle = OneCycleLR.__new__(OneCycleLR)
    one_cycle.param_name = 'lr'
    momentum_cyclic = _Sched('momentum', stage_epochs=[2, 2, 2], num_stages=3)

    r = _runner(cyclic)
    warn_if_lr_not_stage_cyclic(r, 3)
    assert r.logger.warnings == []
    r = _runner(one_cycle, momentum_cyclic)  # a stage-cyclic momentum does not make LR cyclic
    warn_if_lr_not_stage_cyclic(r, 3)
    assert len(r.logger.warnings) == 1 and 'OneCycleLR' in r.logger.warnings[0]
    assert "type='StageCyclicLR', num_stages=3" in r.logger.warnings[0]
    r = _runner(one_cycle)  # StableKD-k/0: one stage, one cycle
    warn_if_lr_not_stage_cyclic(r, 1)
    assert r.logger.warnings == []


def test_runner_logs_the_lr_warning(data_override, tmp_path):
    cfg = tiny(data_override, tmp_path)
    cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[2])]
    cfg.train_cfg.max_epochs = 3
    runner = Runner.from_cfg(cfg)
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    runner.logger.addHandler(handler)
    prepare_train(runner)
    runner.call_hook('before_run')
    assert any('MultiStepLR) is not stage-cyclic' in m for m in seen), seen


class _PlanRunner:
    def __init__(self, resume, load_from='w/epoch_2.pth'):
        self._resume = resume
        self._load_from = load_from
        self.work_dir = 'w'


def test_check_resumed_plan_names_what_changed():
    saved = dict(max_epochs=6, stage_epochs=[2, 2, 2], num_recompositions=2)
    ckpt = {'meta': {'stage_plan': saved}}
    check_resumed_plan(_PlanRunner(True), ckpt, dict(saved), 'StableKDStageHook')
    new = dict(max_epochs=9, stage_epochs=[3, 3, 3], num_recompositions=2)
    with pytest.raises(ValueError) as err:
        check_resumed_plan(_PlanRunner(True), ckpt, new, 'StableKDStageHook')
    msg = str(err.value)
    assert 'train_cfg.max_epochs: 6 -> 9' in msg and 'stage_epochs: [2, 2, 2] -> [3, 3, 3]' in msg
    assert 'num_recompositions' not in msg
    assert 'load_from=w/epoch_2.pth' in msg and 'new schedule' in msg
    # load_from (no resume) starts a new schedule: no check
    check_resumed_plan(_PlanRunner(False), ckpt, new, 'StableKDStageHook')
    # an older checkpoint without a stored plan: the StageCyclicLR state tells the epochs
    old = {'meta': {}, 'param_schedulers': [{'stage_epochs': [2, 2, 2], 'num_stages': 3}]}
    with pytest.raises(ValueError, match=r'stage_epochs: \[2, 2, 2\] -> \[3, 3, 3\]'):
        check_resumed_plan(_PlanRunner(True), old, new, 'StableKDStageHook')


class _CrashAfterFirstEpoch(Hook):
    priority = 'LOWEST'  # after the checkpoint is written

    def after_train_epoch(self, runner):
        raise KeyboardInterrupt


def test_resume_with_another_stage_plan_is_refused(data_override, tmp_path):
    cfg = tiny(data_override, tmp_path, name='a.py')
    cfg.train_dataloader.dataset.indices = 8  # 1 iteration per epoch
    runner = Runner.from_cfg(cfg)
    runner.register_hook(_CrashAfterFirstEpoch())
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    ckpt = str(Path(cfg.work_dir) / 'epoch_1.pth')
    for change, expected in [
            ({'train_cfg.max_epochs': 4}, r'train_cfg.max_epochs: 3 -> 4'),
            ({'model.num_recompositions': 1, 'param_scheduler.0.num_stages': 2,
              'param_scheduler.1.num_stages': 2},
             r'stage_epochs: \[1, 1, 1\] -> \[1, 2\]; num_recompositions: 2 -> 1')]:
        cfg2 = tiny(data_override, tmp_path, name='b.py')
        cfg2.merge_from_dict(change)
        cfg2.resume, cfg2.load_from = True, ckpt
        with pytest.raises(ValueError, match=expected + '.*load_from=' + ckpt), \
                mmengine_checkpoints():  # as tools/train.py (safe loading)
            Runner.from_cfg(cfg2).train()


def prepare_train(runner) -> None:
    """What ``Runner.train`` builds before it calls ``before_run``."""
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
