"""Issue 19.1: one short run of each schedule family among the shipped configs, and its
checkpoint round-trips through ``--resume``, ``tools/test.py`` and ``convert_student.py``
with no opt-in (OneCycleLR's checkpoints were refused before)."""
import argparse
import os

import pytest
import torch
from conftest import DATA_OVERRIDE, REPO, load_tool

from mmstablekd.apis.runner import build_test_cfg, build_train_cfg, run_test, run_train
from mmstablekd.utils.checkpoint import UNSAFE_LOAD_ENV


def narrow(prefix: str, width: int = 4) -> dict:
    return {f'{prefix}.backbone.stem_channels': width, f'{prefix}.backbone.base_channels': width,
            f'{prefix}.head.in_channels': 8 * width, f'{prefix}.head.num_classes': 4}


KD = {**narrow('model.student'), **narrow('model.teacher'), 'model.teacher_ckpt': None,
      'train_cfg.max_epochs': 3, 'train_cfg.val_interval': 3,  # 3: StableKD-2/x has 3 stages
      'default_hooks.checkpoint.interval': 1, 'train_dataloader.dataset.indices': 8,
      'val_dataloader.dataset.indices': 4, 'test_dataloader.dataset.indices': 4}

# schedule family -> a shipped config that uses it
FAMILIES = {
    'one_cycle': 'configs/kd/resnet18_r34_cifar100.py',  # OneCycleLR
    'stage_cyclic': 'configs/stablekd/resnet18_r34_cifar100.py',  # StageCyclicLR + Momentum
    'multi_step': 'configs/dist/resnet18_r34_cifar100.py',  # MultiStepLR
    'warmup_cosine': 'configs/kd/resnet18_r34_imagenet.py',  # LinearLR -> CosineAnnealingLR
    'step': 'configs/dist/resnet18_r34_imagenet.py',  # StepLR
}


def _args(**kw) -> argparse.Namespace:
    base = {**vars(load_tool('train').parse_args(['c.py'])),
            **vars(load_tool('test').parse_args(['c.py', 'c.pth']))}
    return argparse.Namespace(**{**base, **kw})


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_schedule_family_round_trips_without_opt_in(family, tiny_data_root, tmp_path):
    assert UNSAFE_LOAD_ENV not in os.environ
    config = FAMILIES[family]
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(DATA_OVERRIDE.format(base=str(REPO / config), root=str(tiny_data_root),
                                        batch_size=8))
    options = dict(KD)
    if 'imagenet' in config:  # top-5 needs more than the tiny set's 4 classes
        options.update({'val_evaluator.topk': (1, ), 'test_evaluator.topk': (1, )})
    run_train(build_train_cfg(_args(config=str(cfg), work_dir=str(tmp_path / 'a'),
                                    cfg_options=options)))
    first = tmp_path / 'a' / 'epoch_2.pth'
    if family == 'one_cycle':  # holds a function: what the allow-list did not admit before
        saved = torch.load(first, map_location='cpu', weights_only=False)
        assert any('anneal_func' in s for s in saved['param_schedulers'])

    resumed = run_train(build_train_cfg(_args(config=str(cfg), work_dir=str(tmp_path / 'b'),
                                              resume=str(first), cfg_options=options)))
    assert resumed.epoch == 3 and not (tmp_path / 'b' / 'epoch_2.pth').exists()
    last = tmp_path / 'b' / 'epoch_3.pth'

    metrics = run_test(build_test_cfg(_args(config=str(cfg), checkpoint=str(last),
                                            work_dir=str(tmp_path / 't'),
                                            cfg_options=options)))
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
    assert load_tool('convert_student').main([str(last), str(tmp_path / 's.pth')]) == 0
    assert (tmp_path / 's.pth').is_file()
