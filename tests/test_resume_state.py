"""Issue 14, cases 7 and 8: a resumed CPU run is bit-identical to the uninterrupted one, and
``--resume`` that finds nothing to resume says so."""
import logging
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.engine.hooks.resume_state_hook import capture_rng, restore_rng
from mmstablekd.utils.checkpoint import mmengine_checkpoints

TINY = '''
_w = dict(backbone=dict(stem_channels=4, base_channels=4), head=dict(num_classes=4,
          in_channels=32))
model = dict(student=_w, teacher=_w, teacher_ckpt=None)
train_cfg = dict(max_epochs=3, val_interval=1)
'''


class _Crash(Exception):
    pass


class _CrashAfter(Hook):
    """Kill the run right after the checkpoint of epoch ``epoch`` is written."""
    priority = 'LOWEST'

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            raise _Crash


def run(data_override, work_dir, resume_from=None, crash_after=None, name='cfg.py',
        seed=0):
    cfg = Config.fromfile(data_override('configs/stablekd/resnet18_r34_cifar100.py',
                                        extra=TINY, batch_size=4, name=name))
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.train_dataloader.dataset.indices = 8  # 2 iterations per epoch
    cfg.val_dataloader.dataset.indices = 4
    cfg.work_dir = str(work_dir)
    if resume_from:
        cfg.resume, cfg.load_from = True, str(resume_from)
    runner = Runner.from_cfg(cfg)
    with mmengine_checkpoints():  # what tools/train.py wraps around training (safe loading)
        if crash_after:
            runner.register_hook(_CrashAfter(crash_after))
            with pytest.raises(_Crash):
                runner.train()
        else:
            runner.train()
    return runner


def final_state(work_dir: Path) -> dict:
    return torch.load(work_dir / 'epoch_3.pth', map_location='cpu',
                      weights_only=False)['state_dict']


def test_resumed_run_is_bit_identical(data_override, tmp_path):
    run(data_override, tmp_path / 'full')
    full = final_state(tmp_path / 'full')

    run(data_override, tmp_path / 'part', crash_after=2, name='part.py')
    ckpt = tmp_path / 'part' / 'epoch_2.pth'
    assert not (tmp_path / 'part' / 'epoch_3.pth').exists()
    run(data_override, tmp_path / 'resumed', resume_from=ckpt, name='resumed.py')
    resumed = final_state(tmp_path / 'resumed')
    assert full.keys() == resumed.keys()
    different = [k for k in full if not torch.equal(full[k], resumed[k])]
    assert not different, different

    # the test can see a difference: without the saved RNG states the run diverges
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    del state['meta']['rng_state']
    torch.save(state, tmp_path / 'no_rng.pth')
    run(data_override, tmp_path / 'no_rng', resume_from=tmp_path / 'no_rng.pth',
        name='no_rng.py')
    other = final_state(tmp_path / 'no_rng')
    assert any(not torch.equal(full[k], other[k]) for k in full if k.startswith('student.'))


def test_resume_without_a_fixed_seed_is_bit_identical(data_override, tmp_path):
    """Issue 19.2: randomness.seed=None. The interrupted run drew a seed; the resumed process
    draws another one, and the train sampler must still follow the first."""
    run(data_override, tmp_path / 'part', crash_after=2, name='part.py', seed=None)
    ckpt = tmp_path / 'part' / 'epoch_2.pth'
    drawn = torch.load(ckpt, map_location='cpu', weights_only=False)['meta']['seed']
    run(data_override, tmp_path / 'full', name='full.py', seed=drawn)  # same seed, no stop
    full = final_state(tmp_path / 'full')
    resumed_runner = run(data_override, tmp_path / 'resumed', resume_from=ckpt,
                         name='resumed.py', seed=None)
    assert resumed_runner.train_dataloader.sampler.seed == drawn
    resumed = final_state(tmp_path / 'resumed')
    assert full.keys() == resumed.keys()
    different = [k for k in full if not torch.equal(full[k], resumed[k])]
    assert not different, different


def test_reseeding_the_data_order_matters(data_override, tmp_path):
    """Without the re-seeding the resumed run above would see another data order."""
    from mmstablekd.engine.hooks.resume_state_hook import reseed_train_data
    cfg = Config.fromfile(data_override('configs/stablekd/resnet18_r34_cifar100.py',
                                        extra=TINY, batch_size=4))
    cfg.randomness = dict(seed=None)
    cfg.work_dir = str(tmp_path / 'w')
    runner = Runner.from_cfg(cfg)
    prepare_train(runner)
    sampler = runner.train_dataloader.sampler
    before = list(sampler)
    assert reseed_train_data(runner, sampler.seed + 1)
    assert list(sampler) != before and not reseed_train_data(runner, sampler.seed)


def test_rng_states_round_trip_and_load_weights_only(tmp_path):
    state = capture_rng()
    torch.save(state, tmp_path / 'rng.pth')
    loaded = torch.load(tmp_path / 'rng.pth', weights_only=True)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    restore_rng(loaded)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1])
    assert expected[2] == again[2]


def test_resume_without_a_checkpoint_warns_loudly(data_override, tmp_path):
    cfg = Config.fromfile(data_override('configs/stablekd/resnet18_r34_cifar100.py',
                                        extra=TINY, batch_size=8))
    cfg.work_dir = str(tmp_path / 'empty')
    cfg.resume, cfg.load_from = True, None
    runner = Runner.from_cfg(cfg)
    seen = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: seen.append(record.getMessage())
    runner.logger.addHandler(handler)
    prepare_train(runner)
    runner.call_hook('before_run')
    assert any(f'--resume found no checkpoint to resume in {cfg.work_dir}' in m
               and 'STARTS FROM SCRATCH' in m for m in seen), seen


def prepare_train(runner) -> None:
    """What ``Runner.train`` builds before it calls ``before_run``."""
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
