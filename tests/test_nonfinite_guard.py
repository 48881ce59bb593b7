"""Issue 14, case 1: a diverging run (lr=10000) stops at once with a non-zero exit, naming the
loss term, the iteration and the last good checkpoint, and never writes non-finite weights."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.engine.hooks import NonFiniteError, NonFiniteGuardHook

REPO = Path(__file__).resolve().parents[1]
TINY = '''
_w = dict(backbone=dict(stem_channels=4, base_channels=4), head=dict(num_classes=4,
          in_channels=32))
model = dict(student=_w, teacher=_w, teacher_ckpt=None)
train_cfg = dict(max_epochs=3, val_interval=3)
optim_wrapper = dict(optimizer=dict(lr=10000.0))
'''
HOOKS = {'StableKD': [dict(type='StableKDStageHook')], 'SSKD': [dict(type='SSKDStageHook')]}


def all_checkpoints_finite(work_dir: Path) -> list:
    """Names of the .pth files under ``work_dir``; asserts every float tensor is finite."""
    names = []
    for path in sorted(work_dir.rglob('*.pth')):
        state = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
        bad = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
        assert not bad, f'{path} holds non-finite weights: {bad[:5]}'
        names.append(path.name)
    return names


def test_lr_10000_stops_tools_train_with_the_loss_term(data_override, tmp_path):
    cfg = data_override('configs/stablekd/resnet18_r34_cifar100.py', extra=TINY, batch_size=4)
    work = tmp_path / 'w'
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / 'tools/train.py'), cfg, '--work-dir',
                           str(work)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-3000:]
    match = re.search(r'NonFiniteError: Non-finite loss (loss_\w+)=(nan|inf|-inf)', log)
    assert match, log[-3000:]
    assert match.group(1) != 'loss'  # a term, e.g. loss_mse_b3, not only the total
    assert re.search(r'at iteration \d+ \(epoch \d+, batch \d+/8\)', log)
    assert 'Last good checkpoint:' in log
    assert 'default_hooks.nonfinite_guard.enabled=False' in log
    all_checkpoints_finite(work)
    assert not (work / 'epoch_3.pth').exists()


def _tiny_cfg(data_override, tmp_path, method: str, extra: str = '') -> Config:
    cfg = Config.fromfile(data_override('configs/stablekd/resnet18_r34_cifar100.py',
                                        extra=TINY + extra, batch_size=4))
    cfg.model = dict(type=method, student=cfg.model.student, teacher=cfg.model.teacher,
                     teacher_ckpt=None)
    cfg.custom_hooks = HOOKS.get(method, [])
    if method != 'StableKD':
        cfg.param_scheduler = []
    if method == 'SSKD':
        cfg.train_cfg.max_epochs = 5  # one per phase
    cfg.work_dir = str(tmp_path / method)
    return cfg


@pytest.mark.parametrize('method', ['VanillaKD', 'DIST', 'SSKD'])
def test_every_distiller_stops_at_a_non_finite_loss(method, data_override, tmp_path):
    cfg = _tiny_cfg(data_override, tmp_path, method)
    with pytest.raises(NonFiniteError, match=r'Non-finite loss loss_\w+='):
        Runner.from_cfg(cfg).train()
    all_checkpoints_finite(Path(cfg.work_dir))


def test_opt_out_trains_on(data_override, tmp_path):
    cfg = _tiny_cfg(data_override, tmp_path, 'VanillaKD')
    cfg.default_hooks.nonfinite_guard.enabled = False
    cfg.train_cfg.max_epochs = 1
    Runner.from_cfg(cfg).train()  # no error: the user asked to train on
    state = torch.load(Path(cfg.work_dir) / 'epoch_1.pth', map_location='cpu',
                       weights_only=False)['state_dict']
    assert any(not v.isfinite().all() for v in state.values() if v.is_floating_point())


class _Runner:
    def __init__(self, work_dir):
        self.work_dir = str(work_dir)
        self.logger = type('L', (), {'error': staticmethod(lambda msg: None)})()


def test_non_finite_weights_are_never_saved(tmp_path):
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_4.pth'))
    hook = NonFiniteGuardHook()
    ok = {'student.w': torch.ones(3), 'student.n': torch.tensor(5)}
    hook.before_save_checkpoint(_Runner(tmp_path), {'state_dict': ok})
    bad = dict(ok, **{'student.b': torch.tensor([1.0, float('inf')])})
    with pytest.raises(NonFiniteError, match=r'1 tensors: student\.b.*epoch_4\.pth'):
        hook.before_save_checkpoint(_Runner(tmp_path), {'state_dict': bad})
    NonFiniteGuardHook(enabled=False).before_save_checkpoint(_Runner(tmp_path),
                                                             {'state_dict': bad})
    with pytest.raises(TypeError, match='enabled must be a bool'):
        NonFiniteGuardHook(enabled='no')
