"""The DIST configs (CIFAR-100 and ImageNet recipes, the quickstart, StableKD x DIST) build
what their comments claim and train a few iterations through MMEngine's Runner."""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.models.losses import DISTLoss

TINY = '''
_w = dict(backbone=dict(stem_channels=4, base_channels=4), head=dict(num_classes=4,
          in_channels=32))
model = dict(student=_w, teacher=_w, teacher_ckpt=None)
train_cfg = dict(max_epochs=3, val_begin=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=-1))
'''


class _Losses(Hook):
    def before_train(self, runner):
        self.state = {k: v.clone() for k, v in runner.model.state_dict().items()}
        self.values = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.values.append({k: float(v) for k, v in outputs.items() if k.startswith('loss')})


def train(cfg, tmp_path):
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    probe = _Losses()
    runner.register_hook(probe)
    runner.train()
    after = runner.model.state_dict()
    assert any(not torch.equal(probe.state[k], after[k]) for k in after
               if k.startswith('student.'))
    assert all(torch.equal(probe.state[k], after[k]) for k in after if k.startswith('teacher.'))
    return runner, probe.values


@pytest.mark.parametrize('config,key', [
    ('configs/dist/resnet18_r34_cifar100.py', 'loss_dist'),
    ('configs/quickstart/dist_r18_r34_digits.py', 'loss_dist'),
    ('configs/stablekd/resnet18_r34_cifar100_dist.py', 'loss_kd'),
])
def test_cifar_dist_configs_train(config, key, data_override, tmp_path):
    cfg = Config.fromfile(data_override(config, extra=TINY, batch_size=4))
    cfg.train_dataloader.dataset.indices = 4  # 1 iteration per epoch
    runner, values = train(cfg, tmp_path)
    assert len(values) == 3 and all(math.isfinite(v[key]) for v in values)
    loss = runner.model.distill_loss
    assert isinstance(loss, DISTLoss)
    assert (loss.beta, loss.gamma, loss.tau, loss.loss_weight) == (1.0, 1.0, 4.0, 2.0)
    assert loss.eps == 1e-8 and loss.gather_intra is False


def test_imagenet_dist_config_is_the_released_recipe_and_trains(data_override, tmp_path):
    """resnet_dist.yaml (DIST Table 1, B1): SGD lr 0.1 at batch 8 x 32, wd 1e-4, 100 epochs,
    x0.1 every 30; CE 1 + 2 * (inter + intra) at tau 1."""
    cfg = Config.fromfile('configs/dist/resnet18_r34_imagenet.py')
    model = cfg.model
    assert model.type == 'DIST' and model.student.backbone.depth == 18
    assert model.teacher.backbone.depth == 34 and '://' not in model.teacher_ckpt
    assert (model.alpha, model.beta, model.gamma, model.tau, model.loss_weight) == \
        (1.0, 1.0, 1.0, 1.0, 2.0)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.1, 0.9, 1e-4)
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 256
    assert cfg.train_cfg.max_epochs == 100
    assert [(s['type'], s['step_size'], s['gamma']) for s in cfg.param_scheduler] == \
        [('StepLR', 30, 0.1)]

    cfg = Config.fromfile(data_override('configs/dist/resnet18_r34_imagenet.py', extra='''
model = dict(teacher_ckpt=None)
train_cfg = dict(max_epochs=1, val_begin=2)
default_hooks = dict(checkpoint=dict(interval=-1, save_last=False), logger=dict(interval=1))
''', batch_size=16))
    runner, values = train(cfg, tmp_path)
    assert len(values) == 2 and all(math.isfinite(v['loss_dist']) for v in values)
    assert (tmp_path / 'student_epoch_1.pth').is_file()


def test_imagenet_dist_optimizer_param_groups():
    """The released build_optimizer (nesterov=True, filter_bias_and_bn=True): Nesterov SGD,
    weight decay 0 exactly on the 1-D parameters (biases, BatchNorm), 1e-4 on the rest.
    Built on the config's own ResNet-18/-34 DIST model."""
    from mmengine.optim import build_optim_wrapper
    from mmstablekd.registry import MODELS
    cfg = Config.fromfile('configs/dist/resnet18_r34_imagenet.py')
    cfg.model.teacher_ckpt = None
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = wrapper.optimizer.param_groups
    assert all(g['nesterov'] is True and g['momentum'] == 0.9 for g in groups)
    decay = {id(p): g['weight_decay'] for g in groups for p in g['params']}
    student = list(model.student.named_parameters())
    assert student and all(id(p) in decay for _, p in student)
    flat = [n for n, p in student if p.dim() <= 1]
    assert any('bn' in n for n in flat) and 'head.fc.bias' in flat
    for name, param in student:
        assert decay[id(param)] == (0.0 if param.dim() <= 1 else 1e-4), name
