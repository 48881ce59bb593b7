"""Distilled ResNet-18 -> tools/convert_student.py -> mmdet Mask R-CNN (configs/mask_rcnn/).

A ResNet-18 / ResNet-34 pair (mmpretrain's ImageNet ``ResNet``) is distilled for a few
iterations with configs/stablekd/resnet18_r34_imagenet.py on 32x32 images; its backbone is
converted and given to configs/mask_rcnn/mask-rcnn_r18-stablekd_fpn_tiny-coco.py (which inherits
the COCO config mask-rcnn_r18-stablekd_fpn_1x_coco.py) through ``init_cfg``. The detector is
built and trained by MMEngine's Runner on the tiny COCO-format shapes set, read by mmdet's
``CocoDataset`` and scored by mmdet's ``CocoMetric``.

The load report is the one MMEngine's ``load_state_dict`` builds while ``PretrainedInit``
loads the backbone: MMEngine hands its missing/unexpected key lists to the module's
``register_load_state_dict_post_hook`` hooks, which record them here.
"""
import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import DATA_OVERRIDE, REPO, strip_mmdet_run_additions
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmstablekd.datasets.tiny_coco import CLASSES, make_tiny_coco

DISTIL_CONFIG = 'configs/stablekd/resnet18_r34_imagenet.py'
DET_CONFIG = 'configs/mask_rcnn/mask-rcnn_r18-stablekd_fpn_tiny-coco.py'
DISTIL_EXTRA = '''
model = dict(teacher_ckpt=None, probe_input_shape=(3, 32, 32))
# A random teacher at the paper's peak LR (2e-2) drives the student's features far from any
# sane scale within a few steps; a 100x lower LR keeps the toy backbone usable downstream.
optim_wrapper = dict(optimizer=dict(lr=2e-5))
train_cfg = dict(max_epochs=4, val_begin=5)  # no validation: only the weights matter here
val_evaluator = dict(topk=(1, ))
default_hooks = dict(checkpoint=dict(interval=4), logger=dict(interval=4))
work_dir = {work_dir!r}
'''
DET_ITERS = 8


class _SnapshotBackbone(Hook):
    """Copy the backbone weights right after ``init_weights`` (before the first step)."""

    def __init__(self, store: dict) -> None:
        self.store = store

    def before_train(self, runner) -> None:
        self.store.update({k: v.detach().clone()
                           for k, v in runner.model.backbone.state_dict().items()})


def _convert(src, dst) -> None:
    spec = importlib.util.spec_from_file_location('convert_student',
                                                  REPO / 'tools' / 'convert_student.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([str(src), str(dst), '--backbone-only']) == 0


def _distil(data_root, tmp) -> Path:
    cfg_file = tmp / 'distil.py'
    cfg_file.write_text(DATA_OVERRIDE.format(base=str(REPO / DISTIL_CONFIG),
                                             root=str(data_root), batch_size=16) +
                        DISTIL_EXTRA.format(work_dir=str(tmp / 'distil')))
    Runner.from_cfg(Config.fromfile(str(cfg_file))).train()
    return tmp / 'distil' / 'epoch_4.pth'


def _detector_cfg(coco_root, backbone_ckpt, work_dir) -> Config:
    cfg = Config.fromfile(str(REPO / DET_CONFIG))
    root = f'{coco_root}/'
    cfg.merge_from_dict({
        'model.backbone.init_cfg.checkpoint': str(backbone_ckpt),
        'train_dataloader.batch_size': 2,
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.batch_size': 2,
        'val_dataloader.dataset.data_root': root,
        'val_evaluator.ann_file': root + 'annotations/instances_val.json',
        'train_cfg.max_epochs': DET_ITERS,  # 2 images, batch 2: one iteration per epoch
        'train_cfg.val_begin': DET_ITERS + 1,  # evaluated once, by runner.val() below
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': DET_ITERS + 1,
        'default_hooks.checkpoint.save_last': False,
        'work_dir': str(work_dir),
        'randomness': dict(seed=0),
    })
    # warm up for 2 iterations, then a constant LR (the demo's schedule is 48 iterations long)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                                end=2)]
    return cfg


@pytest.fixture(scope='module')
def transfer(tiny_data_root, tmp_path_factory) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp('transfer')
    distil_ckpt = _distil(tiny_data_root, tmp)
    backbone_ckpt = tmp / 'backbone_r18.pth'
    _convert(distil_ckpt, backbone_ckpt)

    # The same 2 images for training and validation: every step fits the same small batch.
    coco_root = tmp / 'tiny_coco'
    make_tiny_coco(str(coco_root), num_train=2, image_size=128, seed=0, val_same_as_train=True)
    runner = Runner.from_cfg(_detector_cfg(coco_root, backbone_ckpt, tmp / 'det'))

    reports, snapshot = [], {}
    runner.model.backbone.register_load_state_dict_post_hook(
        lambda module, keys: reports.append((list(keys.missing_keys),
                                             list(keys.unexpected_keys))))
    runner.register_hook(_SnapshotBackbone(snapshot), priority='VERY_HIGH')
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0].tolist()
    metrics = runner.val()

    student = torch.load(distil_ckpt, map_location='cpu', weights_only=False)['state_dict']
    prefix = 'student.backbone.'
    return SimpleNamespace(
        reports=reports, snapshot=snapshot, losses=losses, metrics=metrics, runner=runner,
        student_ckpt=distil_ckpt.parent / 'student_epoch_4.pth',
        student_backbone={k[len(prefix):]: v for k, v in student.items() if k.startswith(prefix)},
        converted=torch.load(backbone_ckpt, map_location='cpu', weights_only=True)['state_dict'])


def test_detector_is_the_r18_fpn_swap_of_mmdet_mask_rcnn(transfer):
    model = transfer.runner.model
    assert type(model).__name__ == 'MaskRCNN' and type(model).__module__.startswith('mmdet.')
    assert type(model.backbone).__module__.startswith('mmdet.') and model.backbone.depth == 18
    assert [c.in_channels for c in model.neck.lateral_convs] == [64, 128, 256, 512]
    assert model.roi_head.bbox_head.num_classes == len(CLASSES)
    assert transfer.runner.cfg.default_scope == 'mmdet'


def test_backbone_loads_with_no_missing_or_unexpected_keys(transfer):
    assert len(transfer.reports) == 1, 'PretrainedInit did not load the backbone exactly once'
    missing, unexpected = transfer.reports[0]
    assert missing == [] and unexpected == []
    assert set(transfer.converted) == set(transfer.snapshot)


def test_backbone_weights_equal_the_student_bit_for_bit(transfer):
    assert set(transfer.snapshot) == set(transfer.student_backbone)
    for key, value in transfer.student_backbone.items():
        loaded = transfer.snapshot[key]
        assert loaded.dtype == value.dtype and torch.equal(loaded, value), key


def test_student_checkpoint_loads_with_the_backbone_prefix(transfer):
    """The documented alternative: StudentCheckpointHook's classifier file + prefix."""
    from mmdet.models.backbones import ResNet
    backbone = ResNet(depth=18, init_cfg=dict(type='Pretrained', prefix='backbone.',
                                              checkpoint=str(transfer.student_ckpt)))
    backbone.init_weights()
    state = backbone.state_dict()
    assert set(state) == set(transfer.student_backbone)
    assert all(torch.equal(state[k], v) for k, v in transfer.student_backbone.items())


def test_training_on_tiny_coco_reduces_the_loss(transfer):
    losses = transfer.losses
    assert len(losses) == DET_ITERS and all(math.isfinite(v) for v in losses)
    first, last = sum(losses[:2]) / 2, sum(losses[-2:]) / 2
    assert last < 0.8 * first, f'loss did not go down: {losses}'


def test_coco_metric_returns_bbox_and_segm_ap(transfer):
    metrics = transfer.metrics
    for task in ('bbox', 'segm'):
        for suffix in ('mAP', 'mAP_50', 'mAP_75'):
            value = metrics[f'coco/{task}_{suffix}']
            assert isinstance(value, float) and 0.0 <= value <= 1.0, (task, suffix, value)


COCO_CONFIGS = {
    'stablekd': 'work_dirs/stablekd_resnet18_r34_imagenet/backbone_r18.pth',
    'kd': 'work_dirs/kd_resnet18_r34_imagenet/backbone_r18.pth',
    'scratch': None,
}


@pytest.mark.parametrize('name', sorted(COCO_CONFIGS))
def test_coco_configs_only_swap_the_backbone(name, tmp_path):
    mmdet_file = tmp_path / 'mmdet_mask_rcnn.py'  # mmdet's packaged config, resolved by mmengine
    mmdet_file.write_text("_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'\n")
    mmdet_cfg = Config.fromfile(str(mmdet_file)).to_dict()
    cfg = Config.fromfile(str(REPO / f'configs/mask_rcnn/mask-rcnn_r18-{name}_fpn_1x_coco.py'))
    cfg = cfg.to_dict()
    cfg.pop('backbone_checkpoint', None)
    assert cfg.pop('work_dir') == f'./work_dirs/mask_rcnn_mask-rcnn_r18-{name}_fpn_1x_coco'
    backbone, neck = cfg['model'].pop('backbone'), cfg['model'].pop('neck')
    base_backbone, base_neck = mmdet_cfg['model'].pop('backbone'), mmdet_cfg['model'].pop('neck')
    strip_mmdet_run_additions(cfg, mmdet_cfg)
    assert cfg == mmdet_cfg  # data, schedule, heads, runtime (default_scope='mmdet') unchanged
    assert neck == dict(base_neck, in_channels=[64, 128, 256, 512])
    checkpoint = COCO_CONFIGS[name]
    if checkpoint is None:  # from scratch: mmdet's own init, every stage and BN trained
        assert backbone == dict(base_backbone, depth=18, init_cfg=None, frozen_stages=-1,
                                norm_eval=False)
    else:
        assert backbone == dict(base_backbone, depth=18,
                                init_cfg=dict(type='Pretrained', checkpoint=checkpoint))


def test_scratch_config_builds_and_initialises_without_files():
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(str(REPO / 'configs/mask_rcnn/mask-rcnn_r18-scratch_fpn_1x_coco.py'))
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = DET_MODELS.build(cfg.model)
    model.init_weights()
    assert all(p.requires_grad for p in model.backbone.parameters())
    out = model.backbone(torch.zeros(1, 3, 64, 64))
    assert [o.shape[1] for o in out] == [64, 128, 256, 512]


def test_tiny_coco_masks_match_the_drawn_pixels(tmp_path):
    import json

    import numpy as np
    from mmdet.datasets import CocoDataset
    from PIL import Image
    from pycocotools.coco import COCO

    files = make_tiny_coco(str(tmp_path), num_train=6, num_val=3, image_size=96, seed=3)
    coco = COCO(files['train'])
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(CLASSES)
    for image_id in coco.getImgIds():
        info = coco.loadImgs(image_id)[0]
        pixels = np.asarray(Image.open(tmp_path / 'train' / info['file_name']))
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        masks = [coco.annToMask(a).astype(bool) for a in anns]
        assert 1 <= len(anns) <= 3
        assert not np.any(np.sum(masks, axis=0) > 1), 'shapes overlap'
        for ann, mask in zip(anns, masks):
            # box and area are those of the stored polygon's mask (pycocotools, COCO's way)
            ys, xs = np.nonzero(mask)
            assert ann['bbox'] == [xs.min(), ys.min(), xs.max() + 1 - xs.min(),
                                   ys.max() + 1 - ys.min()]
            assert ann['area'] == mask.sum() > 0
            # one fill colour inside the mask (its 1-pixel border may be anti-aliased)
            inner = mask & np.roll(mask, 1, 0) & np.roll(mask, -1, 0) & \
                np.roll(mask, 1, 1) & np.roll(mask, -1, 1)
            assert len(np.unique(pixels[inner].reshape(-1, 3), axis=0)) == 1
    # mmdet's own CocoDataset reads it
    dataset = CocoDataset(data_root=f'{tmp_path}/', ann_file='annotations/instances_val.json',
                          data_prefix=dict(img='val/'), metainfo=dict(classes=CLASSES),
                          test_mode=True, pipeline=[])
    assert len(dataset) == 3
    n_anns = len(json.loads((tmp_path / 'annotations' / 'instances_val.json').read_text())
                 ['annotations'])
    assert sum(len(dataset[i]['instances']) for i in range(3)) == n_anns
    # the same seed writes the same files
    again = make_tiny_coco(str(tmp_path / 'again'), num_train=6, num_val=3, image_size=96, seed=3)
    assert open(again['train']).read() == open(files['train']).read()


def test_kd_baseline_config_trains(data_override, tmp_path):
    cfg = Config.fromfile(data_override('configs/kd/resnet18_r34_imagenet.py', extra=f'''
model = dict(teacher_ckpt=None)
train_cfg = dict(max_epochs=1, val_begin=2)
default_hooks = dict(checkpoint=dict(save_last=False), logger=dict(interval=1))
work_dir = {str(tmp_path / 'kd')!r}
''', batch_size=16))
    assert cfg.model.type == 'VanillaKD'
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == ('AdamW', 2e-3, 4e-2)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert (tmp_path / 'kd' / 'student_epoch_1.pth').is_file()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)


def test_stablekd_imagenet_config_is_5_3_with_the_paper_lr():
    cfg = Config.fromfile(str(REPO / DISTIL_CONFIG))
    assert cfg.model.num_recompositions == 3 and len(cfg.model.boundaries) == 4
    assert cfg.model.student.backbone.type == 'ResNet' and cfg.model.student.backbone.depth == 18
    assert cfg.model.teacher.backbone.depth == 34
    peak = cfg.optim_wrapper.optimizer.lr * cfg.param_scheduler.peak_ratio
    assert math.isclose(peak, 2e-2) and cfg.optim_wrapper.optimizer.weight_decay == 0.2
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 256
    assert '://' not in cfg.model.teacher_ckpt  # no download at run time
