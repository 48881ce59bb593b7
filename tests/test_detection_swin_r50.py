"""Distilled Swin-T and ResNet-50 backbones -> tools/convert_student.py -> mmdet Mask R-CNN.

Swin: mmpretrain's and mmdet's SwinTransformer are two implementations; the converted weights
must fill mmdet's in full (no missing / unexpected keys), equal the student's tensors, and
compute the same features. A tiny Swin (window 2, 16 channels) is distilled for a
few StableKD iterations with configs/stablekd/swin-t_swin-s_imagenet.py, converted, and
trained in configs/mask_rcnn/mask-rcnn_swin-t-stablekd_fpn_1x_coco.py on tiny COCO (CPU).
"""
import copy
import math
from types import SimpleNamespace

import pytest
import torch
from conftest import DATA_OVERRIDE, REPO, strip_mmdet_run_additions
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmstablekd.datasets.tiny_coco import make_tiny_coco
from mmstablekd.utils.student_export import CheckpointError, convert_checkpoint
from mmstablekd.utils.swin_convert import swin_to_mmdet

SWIN_DISTIL = 'configs/stablekd/swin-t_swin-s_imagenet.py'
SWIN_DET = 'configs/mask_rcnn/mask-rcnn_swin-t-stablekd_fpn_1x_coco.py'
R50_DET = 'configs/mask_rcnn/mask-rcnn_r50-vanillakd_fpn_1x_coco.py'
R50_KD = 'configs/kd/resnet50_beitv2-l_rsb-a1-600e_in1k.py'
R18_TINY = 'configs/mask_rcnn/mask-rcnn_r18-stablekd_fpn_tiny-coco.py'
# A tiny Swin (16 channels, window 2) with Swin-T's strides 4, 8, 16, 32; it pads maps smaller
# than the window (mmpretrain's pad_small_map, what mmdet's Swin always does).
TINY_ARCH = dict(embed_dims=16, depths=[2, 2, 2, 1], num_heads=[1, 2, 2, 4])
TINY_MMPRETRAIN = dict(type='SwinTransformer', arch=TINY_ARCH, img_size=32, patch_size=4,
                       window_size=2, pad_small_map=True, drop_path_rate=0.0)
TINY_MMDET = dict(embed_dims=16, depths=[2, 2, 2, 1], num_heads=[1, 2, 2, 4], patch_size=4,
                  strides=(4, 2, 2, 2), window_size=2, drop_path_rate=0.0)
DET_ITERS = 6


def _tiny_swin_classifier(arch=TINY_MMPRETRAIN, num_classes=4):
    return dict(type='ImageClassifier', backbone=arch, neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=128,
                          loss=dict(type='CrossEntropyLoss')))


def _build_mmpretrain(cfg):
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # earlier tests may leave mmdet's
        return MODELS.build(cfg)


def _build_mmdet(cfg):
    from mmdet.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg)


def _fake_distiller_ckpt(student: torch.nn.Module, path) -> dict:
    state = {f'student.{k}': v for k, v in student.state_dict().items()}
    state['teacher.backbone.conv1.weight'] = torch.zeros(1)
    torch.save({'state_dict': state, 'meta': {'epoch': 1}}, path)
    return {k[len('backbone.'):]: v for k, v in student.state_dict().items()
            if k.startswith('backbone.')}


def _load_report(backbone) -> list:
    reports = []
    backbone.register_load_state_dict_post_hook(
        lambda module, keys: reports.append((list(keys.missing_keys),
                                             list(keys.unexpected_keys))))
    return reports


# ---------------------------------------------------------------- Swin: conversion unit tests
def test_mmdet_swin_computes_the_students_features():
    torch.manual_seed(0)
    src = _build_mmpretrain(dict(TINY_MMPRETRAIN, out_indices=(0, 1, 2, 3)))
    src.eval()  # (mmpretrain's Swin.train() returns None)
    state = {k: v for k, v in src.state_dict().items() if not k.startswith(('norm0', 'norm1',
                                                                               'norm2'))}
    converted, added = swin_to_mmdet(state)
    assert added == [f'norm{i}.{p}' for i in range(3) for p in ('weight', 'bias')]
    det = _build_mmdet(dict(type='SwinTransformer', **TINY_MMDET, convert_weights=False))
    det.eval()
    det.load_state_dict({k[len('backbone.'):]: v for k, v in converted.items()}, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours, theirs = det(x), src(x)  # src's norm0-2 are LayerNorm-initial too
    assert [o.shape[1:] for o in ours] == [(16, 16, 16), (32, 8, 8), (64, 4, 4), (128, 2, 2)]
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_unmappable_swin_keys_are_an_error_and_nothing_is_written(tmp_path):
    student = _build_mmpretrain(_tiny_swin_classifier())
    state = {f'student.{k}': v for k, v in student.state_dict().items()}
    state['student.backbone.stages.0.blocks.0.attn.w_msa.logit_scale'] = torch.zeros(1)  # V2
    torch.save({'state_dict': state}, tmp_path / 'd.pth')
    with pytest.raises(CheckpointError, match='logit_scale'):
        convert_checkpoint(str(tmp_path / 'd.pth'), str(tmp_path / 'b.pth'), backbone_only=True)
    assert not (tmp_path / 'b.pth').exists()
    del state['student.backbone.stages.0.blocks.0.attn.w_msa.logit_scale']
    del state['student.backbone.stages.1.blocks.1.norm2.bias']  # incomplete: not mmdet's Swin
    torch.save({'state_dict': state}, tmp_path / 'd.pth')
    with pytest.raises(CheckpointError, match=r"missing \['stages.1.blocks.1.norm2.bias'\]"):
        convert_checkpoint(str(tmp_path / 'd.pth'), str(tmp_path / 'b.pth'), backbone_only=True)
    assert not (tmp_path / 'b.pth').exists()


# ---------------------------------------------------------------- configs
def _mmdet_cfg(base: str, tmp_path) -> dict:
    path = tmp_path / 'mmdet_base.py'
    path.write_text(f"_base_ = 'mmdet::{base}'\n")
    return Config.fromfile(str(path)).to_dict()


@pytest.mark.parametrize('config,base,backbone_update', [
    (SWIN_DET, 'swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py', dict(convert_weights=False)),
    (R50_DET, 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', {}),
])
def test_detection_configs_only_swap_the_backbone_weights(config, base, backbone_update,
                                                          tmp_path):
    cfg = Config.fromfile(str(REPO / config)).to_dict()
    ref = _mmdet_cfg(base, tmp_path)
    checkpoint = cfg.pop('backbone_checkpoint')
    assert checkpoint.startswith('work_dirs/') and '://' not in checkpoint
    backbone, ref_backbone = cfg['model'].pop('backbone'), ref['model'].pop('backbone')
    assert backbone == dict(ref_backbone, **backbone_update,
                            init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    stem = config.rsplit('/', 1)[1][:-3]
    assert cfg.pop('work_dir') == f'./work_dirs/mask_rcnn_{stem}'
    ref['default_hooks']['checkpoint'].update(interval=1, max_keep_ckpts=3)
    strip_mmdet_run_additions(cfg, ref)
    assert cfg == ref  # data, schedule, neck, heads, runtime: mmdet's own


# ---------------------------------------------------------------- ResNet-50 route
def test_r50_student_loads_into_the_mmdet_r50_backbone(tmp_path):
    kd = Config.fromfile(str(REPO / R50_KD))
    student_cfg = kd.model.student.to_dict()
    student_cfg['backbone']['norm_cfg'] = dict(type='BN', requires_grad=True)  # same keys
    torch.manual_seed(0)
    student = _build_mmpretrain(student_cfg)
    for m in student.modules():  # non-default BN statistics, so equality means something
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.num_batches_tracked.fill_(7)
    expected = _fake_distiller_ckpt(student, tmp_path / 'kd.pth')
    convert_checkpoint(str(tmp_path / 'kd.pth'), str(tmp_path / 'r50.pth'), backbone_only=True)

    det_backbone_cfg = Config.fromfile(str(REPO / R50_DET)).model.backbone.to_dict()
    det_backbone_cfg['init_cfg']['checkpoint'] = str(tmp_path / 'r50.pth')
    backbone = _build_mmdet(det_backbone_cfg)
    reports = _load_report(backbone)
    backbone.init_weights()
    assert reports == [([], [])]
    state = backbone.state_dict()
    assert set(state) == set(expected)
    assert all(torch.equal(state[k], v) for k, v in expected.items())


# ---------------------------------------------------------------- Swin chain on tiny COCO
SWIN_DISTIL_EXTRA = '''
_arch = {arch!r}
model = dict(
    teacher_ckpt=None, probe_input_shape=(3, 32, 32),
    teacher=dict(backbone=dict(_delete_=True, **_arch),
                 head=dict(num_classes=4, in_channels=128)),
    student=dict(backbone=dict(_delete_=True, **_arch),
                 head=dict(num_classes=4, in_channels=128),
                 train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8),
                                          dict(type='CutMix', alpha=1.0)])))
data_preprocessor = dict(num_classes=4)
train_cfg = dict(max_epochs=4, val_begin=5)  # one epoch per StableKD-5/3 stage
val_evaluator = dict(topk=(1, ))
default_hooks = dict(checkpoint=dict(interval=4), logger=dict(interval=1))
work_dir = {work_dir!r}
'''


def _swin_det_cfg(coco_root, backbone_ckpt, work_dir) -> Config:
    cfg = Config.fromfile(str(REPO / SWIN_DET))
    tiny = Config.fromfile(str(REPO / R18_TINY))
    root = f'{coco_root}/'
    cfg.model.backbone.update(TINY_MMDET)
    cfg.model.backbone.init_cfg.checkpoint = str(backbone_ckpt)
    cfg.model.neck.in_channels = [16, 32, 64, 128]
    cfg.model.roi_head = tiny.model.roi_head
    cfg.model.train_cfg.rpn_proposal.update(tiny.model.train_cfg.rpn_proposal)
    cfg.model.train_cfg.rcnn.sampler.num = tiny.model.train_cfg.rcnn.sampler.num
    cfg.model.test_cfg.rpn.max_per_img = tiny.model.test_cfg.rpn.max_per_img
    for split in ('train_dataloader', 'val_dataloader'):
        loader = copy.deepcopy(tiny[split])
        loader.batch_size = 2
        loader.dataset.data_root = root
        loader.dataset.type = 'LocalCocoDataset'  # tiny's dataset carries get_data
        cfg[split] = loader
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator = dict(type='CocoMetric', metric=['bbox', 'segm'], format_only=False,
                             ann_file=root + 'annotations/instances_val.json')
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=DET_ITERS,
                         val_interval=DET_ITERS + 1)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                                end=2)]
    cfg.optim_wrapper.optimizer.lr = 3e-4
    cfg.optim_wrapper.clip_grad = dict(max_norm=35, norm_type=2)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = DET_ITERS + 1
    cfg.default_hooks.visualization = dict(type='DetVisualizationHook', draw=False)
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    return cfg


class _SnapshotBackbone(Hook):
    """Copy the backbone weights right after ``init_weights`` (before the first step)."""

    def __init__(self, store: dict) -> None:
        self.store = store

    def before_train(self, runner) -> None:
        self.store.update({k: v.detach().clone()
                           for k, v in runner.model.backbone.state_dict().items()})


@pytest.fixture(scope='module')
def swin_chain(tiny_data_root, tmp_path_factory) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp('swin_chain')
    distil = tmp / 'distil.py'
    distil.write_text(DATA_OVERRIDE.format(base=str(REPO / SWIN_DISTIL), root=str(tiny_data_root),
                                           batch_size=16) +
                      SWIN_DISTIL_EXTRA.format(arch=TINY_MMPRETRAIN, work_dir=str(tmp / 'kd')))
    Runner.from_cfg(Config.fromfile(str(distil))).train()
    ckpt = tmp / 'kd' / 'epoch_4.pth'
    backbone_ckpt = tmp / 'backbone_swin.pth'
    convert_checkpoint(str(ckpt), str(backbone_ckpt), backbone_only=True)

    coco_root = tmp / 'tiny_coco'
    make_tiny_coco(str(coco_root), num_train=2, image_size=128, seed=0, val_same_as_train=True)
    runner = Runner.from_cfg(_swin_det_cfg(coco_root, backbone_ckpt, tmp / 'det'))
    reports = _load_report(runner.model.backbone)
    snapshot = {}
    runner.register_hook(_SnapshotBackbone(snapshot), priority='VERY_HIGH')
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0].tolist()
    metrics = runner.val()
    student = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    prefix = 'student.backbone.'
    return SimpleNamespace(
        reports=reports, snapshot=snapshot, losses=losses, metrics=metrics, runner=runner,
        student={k[len(prefix):]: v for k, v in student.items() if k.startswith(prefix)})


def test_swin_backbone_loads_in_full_and_equals_the_student(swin_chain):
    assert swin_chain.reports == [([], [])]
    model = swin_chain.runner.model
    assert type(model.backbone).__module__.startswith('mmdet.')
    new = {f'norm{i}.{p}' for i in range(3) for p in ('weight', 'bias')}
    assert set(swin_chain.snapshot) == set(swin_chain.student) | new
    for key, value in swin_chain.student.items():
        assert torch.equal(swin_chain.snapshot[key], value), key
    for key in new:  # the detector's extra norms start at LayerNorm's initial values
        assert torch.all(swin_chain.snapshot[key] == (1.0 if key.endswith('weight') else 0.0))


def test_swin_detector_trains_on_tiny_coco(swin_chain):
    losses = swin_chain.losses
    assert len(losses) == DET_ITERS and all(math.isfinite(v) for v in losses)
    first, last = sum(losses[:2]) / 2, sum(losses[-2:]) / 2
    assert last < 0.8 * first, f'loss did not go down: {losses}'
    for task in ('bbox', 'segm'):
        value = swin_chain.metrics[f'coco/{task}_mAP']
        assert isinstance(value, float) and 0.0 <= value <= 1.0


def test_swin_export_report_names_the_mmdet_layout(tmp_path):
    """The converter's summary says what it wrote: mmdet's Swin keys keep `backbone.`."""
    student = _build_mmpretrain(_tiny_swin_classifier())
    state = {f'student.{k}': v for k, v in student.state_dict().items()}
    torch.save({'state_dict': state}, tmp_path / 'd.pth')
    report = convert_checkpoint(str(tmp_path / 'd.pth'), str(tmp_path / 'b.pth'),
                                backbone_only=True)
    assert all(k.startswith('backbone.') for k in report.kept)
    assert "backbone (mmdet Swin layout, 'backbone.' prefix)" in report.format()
