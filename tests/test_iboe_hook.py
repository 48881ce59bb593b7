"""IBOEHook: parameter step distances and validation-accuracy fluctuation, logged per step."""
import json
import math

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmstablekd  # noqa: F401
from mmstablekd.engine.hooks import IBOEHook
from mmstablekd.registry import HOOKS

TINY = '''
_narrow = dict(backbone=dict(stem_channels=8, base_channels=8),
               head=dict(num_classes=4, in_channels=64))
model = dict(teacher_ckpt=None, student=_narrow, teacher=_narrow)
train_cfg = dict(max_epochs=3)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=-1))
custom_hooks = _base_.custom_hooks + [dict(type='_HeadRecorder')]
'''


@HOOKS.register_module(force=True)
class _HeadRecorder(Hook):
    """Test probe: the classifier weights before training and after every iteration."""
    priority = 'LOWEST'

    def before_train(self, runner):
        self.snapshots = [self._head(runner)]

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.snapshots.append(self._head(runner))

    @staticmethod
    def _head(runner):
        return [p.detach().clone() for p in runner.model.student.head.parameters()]


def test_logs_step_distances_and_accuracy_fluctuation(data_override, tmp_path):
    cfg = Config.fromfile(data_override('configs/stablekd/resnet18_r34_cifar100_iboe.py',
                                        extra=TINY))
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    recorder = next(h for h in runner.hooks if isinstance(h, _HeadRecorder))
    iboe = next(h for h in runner.hooks if isinstance(h, IBOEHook))
    assert iboe.interval == 1  # taken from the LoggerHook

    lines = [json.loads(s) for f in (tmp_path / 'work').glob('*/vis_data/scalars.json')
             for s in f.read_text().splitlines()]
    train = {r['step']: r for r in lines if 'iboe/param_dist/student.head' in r}
    assert sorted(train) == list(range(1, 13))  # 4 iterations x 3 epochs, every one logged
    for step, snapshot in enumerate(recorder.snapshots[1:], start=1):
        prev = recorder.snapshots[step - 1]
        expected = math.sqrt(sum(float((a - b).pow(2).sum()) for a, b in zip(snapshot, prev)))
        assert train[step]['iboe/param_dist/student.head'] == pytest.approx(expected, rel=1e-5)
        assert train[step]['iboe/param_dist/student.backbone.layer4'] > 0

    val = sorted((r for r in lines if 'accuracy/top1' in r), key=lambda r: r['step'])
    accs = [r['accuracy/top1'] for r in val]
    assert [r['step'] for r in val] == [1, 2, 3] and 'iboe/acc_delta' not in val[0]
    for v in (1, 2):
        assert val[v]['iboe/acc_delta'] == pytest.approx(abs(accs[v] - accs[v - 1]))
        assert val[v]['iboe/acc_std'] == pytest.approx(float(np.std(accs[:v + 1])))


class _Hub:
    def __init__(self):
        self.scalars = {}

    def update_scalar(self, key, value):
        self.scalars.setdefault(key, []).append(value)


class _Runner:
    def __init__(self):
        self.message_hub = _Hub()


def test_accuracy_window_is_the_last_w_validations():
    hook, runner = IBOEHook(window=3), _Runner()
    for acc in [50.0, 60.0, 55.0, 70.0, 70.0]:
        hook.after_val_epoch(runner, {'accuracy/top1': acc})
    assert runner.message_hub.scalars['val/iboe/acc_delta'] == [10.0, 5.0, 15.0, 0.0]
    expected = [np.std([50, 60]), np.std([50, 60, 55]), np.std([60, 55, 70]),
                np.std([55, 70, 70])]
    assert runner.message_hub.scalars['val/iboe/acc_std'] == pytest.approx(expected)


def test_unknown_metric_is_a_clear_error():
    with pytest.raises(KeyError, match="IBOEHook.metric_key='accuracy/top1' is not among"):
        IBOEHook().after_val_epoch(_Runner(), {'accuracy/top5': 1.0})


class _Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.student = torch.nn.Module()
        self.student.head = torch.nn.Linear(2, 2)
        self.student.pool = torch.nn.AdaptiveAvgPool2d(1)


@pytest.mark.parametrize('paths,match', [
    (['student.haed'], r"IBOEHook.module_paths\[0\]='student.haed'.*no child 'haed'"),
    (['student.pool'], r'module_paths\[0\].*no trainable parameters'),
])
def test_bad_module_paths_fail_before_training(paths, match):
    runner = _Runner()
    runner.model, runner.hooks = _Model(), []
    with pytest.raises((ValueError, TypeError), match=match):
        IBOEHook(module_paths=paths).before_run(runner)


@pytest.mark.parametrize('kw,match', [(dict(window=1), 'window'), (dict(interval=0), 'interval'),
                                      (dict(module_paths='student.head'), 'module_paths')])
def test_bad_arguments(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        IBOEHook(**kw)


def _write_scalars(work_dir, lines):
    vis = work_dir / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in lines) + '\n')


def test_plot_tool_reads_and_plots_runs_side_by_side(tmp_path):
    import subprocess
    import sys

    from conftest import REPO
    from mmstablekd.visualization.iboe import read_iboe_scalars
    for name, scale in (('kd', 2.0), ('stablekd', 1.0)):
        _write_scalars(tmp_path / name, [
            {'loss': 1.0, 'iboe/param_dist/student.head': 0.5 * scale, 'step': 1},
            {'loss': 0.9, 'iboe/param_dist/student.head': 0.25 * scale, 'step': 2},
            {'accuracy/top1': 40.0, 'step': 1},
            {'accuracy/top1': 50.0, 'iboe/acc_delta': 10.0, 'iboe/acc_std': 5.0, 'step': 2}])
    series = read_iboe_scalars(str(tmp_path / 'kd'))
    assert series['iboe/param_dist/student.head'] == [(1, 1.0), (2, 0.5)]
    assert series['iboe/acc_delta'] == [(2, 10.0)] and 'loss' not in series
    out = tmp_path / 'iboe.png'
    proc = subprocess.run([sys.executable, str(REPO / 'tools/plot_iboe.py'), str(out),
                           f'KD={tmp_path / "kd"}', f'StableKD={tmp_path / "stablekd"}'],
                          capture_output=True, text=True, cwd=REPO,
                          env={'PYTHONPATH': str(REPO), 'PATH': ''})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
