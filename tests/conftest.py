"""Shared fixtures: a tiny image-classification data set that mmpretrain's own
``CustomDataset`` reads, override configs that point any repo config at it, and a one-parameter
optimizer that the scheduler tests step."""
import importlib.util
import os
import os.path as osp
import sys
from pathlib import Path
from typing import Callable, List, Sequence, Tuple, Union

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
NUM_CLASSES = 4
TRAIN_PER_CLASS = 8
TEST_PER_CLASS = 4

os.environ.setdefault('OMP_NUM_THREADS', '2')
# The quickstart/benchmark harness (tools/kdbench) is imported as the tools import it; appended,
# so tools/test.py never shadows the standard library's ``test`` package.
if str(REPO / 'tools') not in sys.path:
    sys.path.append(str(REPO / 'tools'))


def toy_optimizer(lr: float, optimizer: str = 'sgd', momentum: float = 0.0):
    """A one-parameter optimizer for scheduler tests: SGD (with ``momentum``) or AdamW."""
    import torch
    param = [torch.nn.Parameter(torch.zeros(1))]
    if optimizer == 'sgd':
        return torch.optim.SGD(param, lr=lr, momentum=momentum)
    return torch.optim.AdamW(param, lr=lr, betas=(0.9, 0.999))


def staged_schedule(scheduler_cls, lr: float, epochs: int, epoch_length: int,
                    num_stages: int, opt=None, **kw) -> tuple:
    """``(optimizer, scheduler)``: ``scheduler_cls`` (a staged LR/momentum scheduler) built
    per iteration from ``epochs`` epochs of ``epoch_length`` iterations, as the Runner
    builds ``convert_to_iter_based`` schedulers; ``opt`` defaults to :func:`toy_optimizer`."""
    opt = opt or toy_optimizer(lr)
    sched = scheduler_cls.build_iter_from_epoch(
        opt, num_stages=num_stages, begin=0, end=epochs, by_epoch=True,
        epoch_length=epoch_length, **kw)
    return opt, sched


def step_schedules(opt, scheds, n: int, keys: Sequence[str] = ('lr', )
                   ) -> Union[List[float], Tuple[List[float], ...]]:
    """Step ``opt`` and ``scheds`` (one scheduler or a list) ``n`` times, recording each
    ``keys`` entry of the first param group before every step; one list per key (a single
    list for one key)."""
    scheds = scheds if isinstance(scheds, (list, tuple)) else [scheds]
    out = tuple([] for _ in keys)
    for _ in range(n):
        for values, key in zip(out, keys):
            values.append(opt.param_groups[0][key])
        opt.step()
        for s in scheds:
            s.step()
    return out[0] if len(keys) == 1 else out


def load_tool(name: str):
    """Import ``tools/<name>.py`` as a module (its ``parse_args`` gives the real CLI defaults)."""
    spec = importlib.util.spec_from_file_location(f'tool_{name}', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resnet_cifar_classifier(depth: int, width: int = 8, num_classes: int = 4) -> dict:
    """Config of a narrow mmpretrain ``ResNet_CIFAR`` classifier (stage widths w, 2w, 4w, 8w)."""
    return dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=depth, stem_channels=width, base_channels=width,
                      out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=8 * width,
                  loss=dict(type='CrossEntropyLoss')))


def write_tiny_cls_dataset(root: Path, num_classes: int = NUM_CLASSES,
                           train_per_class: int = TRAIN_PER_CLASS,
                           test_per_class: int = TEST_PER_CLASS, size: int = 32,
                           seed: int = 0) -> Path:
    """Write ``root/{train,test}/class_XX/*.png``: 32x32 RGB images, one colour tint and
    stripe orientation per class plus noise, so a network can learn them."""
    rng = np.random.default_rng(seed)
    for split, per_class in (('train', train_per_class), ('test', test_per_class)):
        for c in range(num_classes):
            folder = root / split / f'class_{c:02d}'
            folder.mkdir(parents=True, exist_ok=True)
            tint = rng.integers(40, 215, size=3)
            for i in range(per_class):
                img = rng.normal(0, 25, size=(size, size, 3)) + tint
                stripes = (np.arange(size) // 4 % 2 == 0)
                if c % 2:
                    img[stripes, :, :] += 40  # horizontal stripes
                else:
                    img[:, stripes, :] += 40  # vertical stripes
                Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f'{i}.png')
    return root


@pytest.fixture(scope='session')
def tiny_data_root(tmp_path_factory) -> Path:
    """Root of the tiny folder-format data set (4 classes, 32 train / 16 test images)."""
    return write_tiny_cls_dataset(tmp_path_factory.mktemp('tiny_cls'))


DATA_OVERRIDE = '''_base_ = [{base!r}]
_data_root = {root!r}
_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
_test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size={batch_size}, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=_data_root,
                 data_prefix='train', pipeline=_train_pipeline))
val_dataloader = dict(
    batch_size={batch_size}, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=_data_root,
                 data_prefix='test', pipeline=_test_pipeline))
test_dataloader = val_dataloader
randomness = dict(seed=0, deterministic=False)
'''


@pytest.fixture
def data_override(tiny_data_root, tmp_path) -> Callable[..., str]:
    """Factory: ``data_override('configs/x.py', extra='...')`` -> path of a config that
    inherits the repo config unchanged and only points its data loaders at the tiny set."""

    def make(config: str, extra: str = '', batch_size: int = 8, name: str = 'cfg.py') -> str:
        path = tmp_path / name
        text = DATA_OVERRIDE.format(base=osp.join(str(REPO), config), root=str(tiny_data_root),
                                    batch_size=batch_size)
        path.write_text(text + extra)
        return str(path)

    return make


def strip_mmdet_run_additions(cfg: dict, ref: dict) -> None:
    """Undo, in place, what every Mask R-CNN config of this repo adds to mmdet's own config
    besides the backbone: the ``custom_imports`` of mmstablekd, its three run guards in
    ``default_hooks`` (scope-prefixed for the mmdet scope) and ``LocalCocoDataset`` (mmdet's
    ``CocoDataset`` with a missing-data message) -- each asserted, so nothing else may differ.
    """
    assert 'mmstablekd' in cfg.pop('custom_imports')['imports']
    hooks = cfg['default_hooks']
    for key, hook in (('nonfinite_guard', 'NonFiniteGuardHook'),
                      ('work_dir_lock', 'WorkDirLockHook'), ('resume_state', 'ResumeStateHook')):
        assert hooks.pop(key)['type'] == f'mmpretrain.{hook}'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset, ref_type = cfg[loader]['dataset'], ref[loader]['dataset']['type']
        assert (ref_type, dataset['type']) == ('CocoDataset', 'LocalCocoDataset')
        dataset['type'] = ref_type
