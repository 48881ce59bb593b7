"""One config, four methods: switching ``model.type`` between StableKD, VanillaKD, DIST and SSKD
builds and trains through MMEngine's Runner; the method configs build what they claim."""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.registry import MODELS

BOUNDARIES = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3', 'backbone.layer4']
TINY = '''
_w = dict(backbone=dict(stem_channels=4, base_channels=4), head=dict(num_classes=4,
          in_channels=32))
model = dict(student=_w, teacher=_w, teacher_ckpt=None)
train_cfg = dict(max_epochs=5, val_interval=5)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=5))
'''
# Only ``type`` changes in ``model``: StableKD and SSKD both default their boundaries to the
# backbone's stages. The staged methods need their stage hook (and StableKD its scheduler).
EXTRA_MODEL = {}
HOOKS = {'StableKD': [dict(type='StableKDStageHook')], 'SSKD': [dict(type='SSKDStageHook')]}
LOSS_KEYS = {
    'StableKD': {'loss_cls', 'loss_kd', 'loss_mse_b1', 'loss_mse_b4'},
    'VanillaKD': {'loss_cls', 'loss_kd'},
    'DIST': {'loss_cls', 'loss_dist'},
    'SSKD': {'loss_stage1', 'loss_stage2', 'loss_stage3', 'loss_stage4', 'loss_cls'},
}


class _Snapshot(Hook):
    def before_train(self, runner):
        self.state = {k: v.clone() for k, v in runner.model.state_dict().items()}
        self.losses = {}  # every loss term returned by any iteration -> its values

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        for k, v in outputs.items():
            if k.startswith('loss_'):
                self.losses.setdefault(k, []).append(float(v))


@pytest.mark.parametrize('method', ['StableKD', 'VanillaKD', 'DIST', 'SSKD'])
def test_switch_model_type_and_train(method, data_override, tmp_path):
    cfg = Config.fromfile(data_override('configs/stablekd/resnet18_r34_cifar100.py', batch_size=4,
                                        extra=TINY))
    cfg.train_dataloader.dataset.indices = 4  # 1 iteration per epoch
    model = dict(type=method, student=cfg.model.student, teacher=cfg.model.teacher,
                 teacher_ckpt=None, **EXTRA_MODEL.get(method, {}))
    cfg.model = model
    cfg.custom_hooks = HOOKS.get(method, []) + [dict(type='StudentCheckpointHook')]
    if method != 'StableKD':  # StageCyclicLR is StableKD's schedule
        cfg.param_scheduler = [dict(type='OneCycleLR', eta_max=0.1, by_epoch=True,
                                    convert_to_iter_based=True)]
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    snap = _Snapshot()
    runner.register_hook(snap)
    runner.train()

    assert type(runner.model) is MODELS.get(method)
    seen = set(snap.losses)
    assert LOSS_KEYS[method] <= seen, seen
    for key in seen:
        assert all(math.isfinite(v) for v in snap.losses[key])
    after = runner.model.state_dict()
    assert all(torch.equal(snap.state[k], after[k]) for k in after if k.startswith('teacher.'))
    assert any(not torch.equal(snap.state[k], after[k]) for k in after
               if k.startswith('student.head.'))
    assert (tmp_path / 'student_epoch_5.pth').is_file()


CONFIGS = {
    'configs/kd/resnet18_r34_cifar100.py': ('VanillaKD', dict(alpha=0.5, tau=1.0)),
    'configs/dist/resnet18_r34_cifar100.py': ('DIST', dict(alpha=1.0, beta=1.0, gamma=1.0,
                                                            tau=4.0, loss_weight=2.0)),
    'configs/sskd/resnet18_r34_cifar100.py': ('SSKD', dict(boundaries=BOUNDARIES)),
    'configs/stablekd/resnet18_r34_cifar100_dist.py': ('StableKD', dict(num_recompositions=2)),
}


@pytest.mark.parametrize('path', sorted(CONFIGS))
def test_method_configs_share_student_teacher_data(path):
    base = Config.fromfile('configs/stablekd/resnet18_r34_cifar100.py')
    cfg = Config.fromfile(path)
    kind, attrs = CONFIGS[path]
    assert cfg.model.type == kind
    for key in ('student', 'teacher', 'teacher_ckpt'):
        assert cfg.model[key] == base.model[key], key
    keys = ('train_dataloader', 'val_dataloader')
    if '/dist/' not in path:  # DIST runs its own released 240-epoch recipe
        keys += ('train_cfg', )
    for key in keys:
        assert cfg[key]['dataset' if 'loader' in key else 'max_epochs'] == \
            base[key]['dataset' if 'loader' in key else 'max_epochs']
    model = MODELS.build(dict(cfg.model, teacher_ckpt=None))
    assert type(model) is MODELS.get(kind)
    for name, value in attrs.items():
        assert getattr(model, name) == value, name
    if path.endswith('_dist.py'):  # the DIST authors' CIFAR-100 weights on the final block
        loss = model.distill_loss
        assert type(loss).__name__ == 'DISTLoss'
        assert (loss.beta, loss.gamma, loss.tau, loss.loss_weight) == (1.0, 1.0, 4.0, 2.0)


def test_kd_baseline_uses_onecycle_peak_0_1():
    cfg = Config.fromfile('configs/kd/resnet18_r34_cifar100.py')
    # PyTorch's OneCycle: LR (MMEngine's OneCycleLR) and momentum 0.95 -> 0.85 -> 0.95
    assert [s['type'] for s in cfg.param_scheduler] == ['OneCycleLR', 'OneCycleMomentum']
    assert cfg.param_scheduler[0]['eta_max'] == 0.1
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert [h['type'] for h in cfg.custom_hooks] == ['StudentCheckpointHook']


def test_dist_cifar_config_is_the_released_recipe():
    """dist_cifar.yaml (DIST Table 1, A1): 240 epochs, batch 64, SGD lr 0.05, wd 5e-4,
    x0.1 at 150/180/210; CE 1 + 2 * 4^2 * (inter + intra)."""
    cfg = Config.fromfile('configs/dist/resnet18_r34_cifar100.py')
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.05, 0.9, 5e-4)
    assert cfg.train_dataloader.batch_size == 64 and cfg.train_cfg.max_epochs == 240
    assert [(s['type'], s['milestones'], s['gamma']) for s in cfg.param_scheduler] == \
        [('MultiStepLR', [150, 180, 210], 0.1)]
    assert [h['type'] for h in cfg.custom_hooks] == ['StudentCheckpointHook']


def test_sskd_config_lr_restarts_every_phase():
    """StageStepLR in configs/sskd restarts the LR at every phase start (0.01 x the phase's
    factor) with x0.1 steps at 30/60/90 % of each 12-epoch phase (60 epochs / 5 phases)."""
    from mmstablekd.engine.schedulers import StageStepLR
    cfg = Config.fromfile('configs/sskd/resnet18_r34_cifar100.py')
    assert cfg.optim_wrapper.optimizer.lr == 0.01 and cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.model.stage_loss.type == 'FeatureL2Loss'
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    (spec, ) = cfg.param_scheduler
    kwargs = {k: v for k, v in spec.items() if k not in ('type', 'convert_to_iter_based')}
    sched = StageStepLR(opt, end=cfg.train_cfg.max_epochs, **kwargs)
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs):
        lrs.append(opt.param_groups[0]['lr'])
        sched.step()
    phase = [1] * 4 + [0.1] * 3 + [0.01] * 4 + [0.001]  # steps at 4, 7, 11 of 12
    factors = [1, 1, 1, 1, 10]  # the paper's uniform LR 0.01 per stage; head phase LR 0.1
    assert lrs == pytest.approx([0.01 * f * x for f in factors for x in phase], rel=1e-9)
    assert cfg.custom_hooks[0] == dict(type='SSKDStageHook')  # phases follow max_epochs


def _unscoped(obj):
    """Drop the ``_scope_`` keys that ``mmpretrain::`` inheritance adds."""
    if isinstance(obj, dict):
        return {k: _unscoped(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unscoped(v) for v in obj)
    return obj


def test_unmodified_mmpretrain_config_changes_only_model():
    ours = Config.fromfile('configs/kd/resnet18_r34_mmpretrain-cifar10.py')
    theirs = Config.fromfile(Config._get_cfg_path(
        'mmpretrain::resnet/resnet18_8xb16_cifar10.py', '.')[0])
    ours_d, theirs_d = _unscoped(ours.to_dict()), _unscoped(theirs.to_dict())
    changed = {k for k in set(ours_d) | set(theirs_d) if ours_d.get(k) != theirs_d.get(k)}
    # work_dir: our convention; the data loaders: only the type (LocalCIFAR10 reads the same
    # files but never downloads, see mmstablekd/datasets/local_data.py)
    assert changed == {'model', 'custom_imports', 'default_hooks', 'work_dir',
                       'train_dataloader', 'val_dataloader', 'test_dataloader'}
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert ours_d[split]['dataset'].pop('type') == 'LocalCIFAR10'
        assert theirs_d[split]['dataset'].pop('type') == 'CIFAR10'
        assert ours_d[split] == theirs_d[split]
    # default_hooks: per-epoch checkpoints kept 3 and the run guards; mmpretrain's own stay
    hooks, their_hooks = _unscoped(ours.default_hooks), _unscoped(theirs.default_hooks)
    assert {k: v for k, v in hooks.items() if k in their_hooks and k != 'checkpoint'} == \
        {k: v for k, v in their_hooks.items() if k != 'checkpoint'}
    assert ours.work_dir == './work_dirs/kd_resnet18_r34_mmpretrain-cifar10'
    assert _unscoped(ours.model.student.to_dict()) == _unscoped(theirs.model.to_dict())
    assert ours.model.teacher.backbone.depth == 34
    model = MODELS.build(dict(ours.model, teacher_ckpt=None))
    assert type(model).__name__ == 'VanillaKD'
