"""The Swin / ViT / timm / WRN configs build at full size and carry the paper's settings."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmstablekd  # noqa: F401
from mmstablekd.registry import MODELS
from conftest import REPO


def build(config: str):
    cfg = Config.fromfile(REPO / config)
    cfg.model.teacher_ckpt = None
    init_default_scope('mmpretrain')
    return cfg, MODELS.build(cfg.model)


def n_params(module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


def test_swin_t_swin_s_imagenet():
    cfg, model = build('configs/stablekd/swin-t_swin-s_imagenet.py')
    assert model.partition_str(0) == '{1}{2}{3}{4}{5}' and model.num_stages == 4  # 5/3
    assert model.student.backbone.arch_settings['depths'] == [2, 2, 6, 2]  # Swin-T
    assert model.teacher.backbone.arch_settings['depths'] == [2, 2, 18, 2]  # Swin-S
    assert round(n_params(model.student)) == 28 and not model.projectors
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'AdamW' and opt.weight_decay == 0.2
    assert opt.lr * cfg.param_scheduler.peak_ratio == pytest.approx(2e-2)
    assert cfg.param_scheduler.num_stages == model.num_stages
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 256
    assert cfg.model.teacher_ckpt is None or cfg.model.teacher_ckpt.endswith('.pth')
    assert Config.fromfile(REPO / 'configs/stablekd/swin-t_swin-s_imagenet.py').model \
        .teacher_ckpt.startswith('https://download.openmmlab.com/')


def test_vit_s8_vit_s16_imagenet():
    cfg, model = build('configs/stablekd/vit-s8_vit-s16_imagenet.py')
    s, t = model.student.backbone, model.teacher.backbone
    assert (len(s.layers), len(t.layers), s.embed_dims, t.embed_dims) == (8, 16, 384, 384)
    assert model.num_stages == 4 and cfg.train_cfg.max_epochs == 90
    # the layers are split evenly over the first four blocks
    assert cfg.model.boundaries == [f'backbone.layers.{i}' for i in (1, 3, 5, 7)]
    assert cfg.model.teacher_boundaries == [f'backbone.layers.{i}' for i in (3, 7, 11, 15)]
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'AdamW' and opt.weight_decay == 0.2
    assert opt.lr * cfg.param_scheduler.peak_ratio == pytest.approx(2e-2)
    teacher_cfg = Config.fromfile(REPO / 'configs/teachers/vit-s16_imagenet.py')
    assert teacher_cfg.model.backbone.arch == cfg.model.teacher.backbone.arch


def test_wrn16_8_wrn16_10_cifar100_with_projectors():
    cfg, model = build('configs/stablekd/wrn16-8_wrn16-10_cifar100.py')
    assert model.num_blocks == 2 and model.num_stages == 2  # StableKD-2/1 (Table 6)
    proj = model.projectors['0']
    assert isinstance(proj['to_teacher'], torch.nn.Conv2d)
    assert proj['to_teacher'].weight.shape == (640, 512, 1, 1)
    assert proj['from_teacher'].weight.shape == (512, 640, 1, 1)
    # Table 6: 11.0M student, 11.6M with projectors, 17.1M teacher (truncated to 0.1M)
    assert int(n_params(model.student) * 10) / 10 == 11.0
    assert int((n_params(model.student) + n_params(model.projectors)) * 10) / 10 == 11.6
    assert int(n_params(model.teacher) * 10) / 10 == 17.1
    assert cfg.model_wrapper_cfg.find_unused_parameters  # idle projectors in stage 1
    teacher_cfg = Config.fromfile(REPO / 'configs/teachers/wrn16-10_cifar100.py')
    assert teacher_cfg.model == cfg.model.teacher


def test_timm_resnet18_student_resnet34_teacher_imagenet():
    cfg, model = build('configs/stablekd/timm-resnet18_resnet34_imagenet.py')
    assert type(model.student.backbone).__name__ == 'TIMMBackbone'
    assert type(model.teacher.backbone).__name__ == 'ResNet'
    assert model.num_stages == 4 and not model.projectors
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():  # the timm student classifies through mmpretrain's neck and head
        assert model(x, mode='tensor').shape == (1, 1000)


@pytest.mark.parametrize('config', ['configs/stablekd/resnet18_r34_cifar100_iboe.py',
                                    'configs/stablekd/resnet18_r34_cifar100_1-0_iboe.py'])
def test_iboe_configs_add_the_hook_to_the_method_hooks(config):
    cfg = Config.fromfile(REPO / config)
    types = [h['type'] for h in cfg.custom_hooks]
    assert types == ['StableKDStageHook', 'StudentCheckpointHook', 'IBOEHook']
    assert cfg.custom_hooks[-1]['module_paths'][0] == 'student.head'
