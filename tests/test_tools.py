"""End-to-end: tools/train.py, tools/test.py and --resume on the tiny data set, for the
teacher config and the StableKD config (issue 2 and 3 acceptance)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import mmengine
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
# Narrow ResNet_CIFAR widths keep the CPU run short; everything else is the real config.


def narrow(prefix: str) -> list:
    return [f'{prefix}.backbone.stem_channels=16', f'{prefix}.backbone.base_channels=16',
            f'{prefix}.head.in_channels=128', f'{prefix}.head.num_classes=4']


NARROW = narrow('model')
NARROW_KD = narrow('model.student') + narrow('model.teacher')


def run_tool(tool, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / tool), *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def scalars(work_dir: Path) -> list:
    files = sorted(work_dir.glob('*/vis_data/scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


@pytest.fixture(scope='module')
def teacher_run(tmp_path_factory, tiny_data_root):
    from conftest import DATA_OVERRIDE
    tmp = tmp_path_factory.mktemp('teacher')
    cfg = tmp / 'teacher.py'
    cfg.write_text(DATA_OVERRIDE.format(
        base=str(REPO / 'configs/teachers/resnet34_cifar100.py'), root=str(tiny_data_root),
        batch_size=8))
    work = tmp / 'work'
    run_tool('train.py', cfg, '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=1',
             'default_hooks.checkpoint.interval=1', *NARROW)
    return cfg, work


def test_teacher_trains_tests_and_resumes(teacher_run):
    cfg, work = teacher_run
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    out = work / 'metrics.json'
    run_tool('test.py', cfg, ckpt, '--work-dir', work / 'test', '--out', out,
             '--cfg-options', *NARROW)
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
    # mmpretrain's --out-item pred (the default for .pkl): MMEngine's DumpResults pickle
    preds = work / 'preds.pkl'
    run_tool('test.py', cfg, ckpt, '--work-dir', work / 'test', '--out', preds,
             '--cfg-options', *NARROW)
    results = mmengine.load(preds)
    assert len(results) == 16  # the tiny test split
    hits = [int(r['pred_label']) == int(r['gt_label']) for r in results]
    assert 100.0 * sum(hits) / len(hits) == pytest.approx(metrics['accuracy/top1'])
    log = run_tool('train.py', cfg, '--work-dir', work, '--resume', ckpt, '--cfg-options',
                   'train_cfg.max_epochs=2', *NARROW)
    assert 'resumed epoch: 1' in log
    assert (work / 'epoch_2.pth').is_file()
    state = torch.load(work / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert state['meta']['epoch'] == 2


def test_stablekd_three_stages_and_resume(teacher_run, data_override, tmp_path):
    _, teacher_work = teacher_run
    cfg = data_override('configs/stablekd/resnet18_r34_cifar100.py')
    common = ['train_cfg.max_epochs=3', 'default_hooks.logger.interval=1',
              'default_hooks.checkpoint.max_keep_ckpts=3',
              f'model.teacher_ckpt={teacher_work / "epoch_1.pth"}', *NARROW_KD]
    work_a = tmp_path / 'a'
    log = run_tool('train.py', cfg, '--work-dir', work_a, '--cfg-options', *common)
    for stage, part in enumerate(['{1}{2}{3}{4}{5}', '{12}{34}{5}', '{1234}{5}']):
        assert f'StableKD stage {stage}/2 from epoch {stage + 1}: partition {part}' in log
    lr_a = {s['step']: s['lr'] for s in scalars(work_a) if 'lr' in s}
    iters_per_epoch = 4  # 32 images / batch 8
    # one LR triangle per stage: base at each stage start, peak (halving) mid-stage
    starts = [lr_a[1 + s * iters_per_epoch] for s in range(3)]
    peaks = [lr_a[1 + s * iters_per_epoch + iters_per_epoch // 2] for s in range(3)]
    assert starts == pytest.approx([0.05 * 3e-3] * 3)
    assert peaks == pytest.approx([0.05 * (3e-3 + (10 - 3e-3) / 2**s) for s in range(3)])
    assert (work_a / 'student_epoch_3.pth').is_file()
    # per-term losses of a finished stage are not logged on with stale values
    logged = {s['step']: s for s in scalars(work_a) if 'loss' in s}
    assert 'loss_mse_b1' in logged[4] and 'loss_mse_b1' not in logged[5]
    assert 'loss_mse_b2' in logged[8] and 'loss_mse_b2' not in logged[9]

    work_b = tmp_path / 'b'
    log_b = run_tool('train.py', cfg, '--work-dir', work_b, '--resume', work_a / 'epoch_2.pth',
                     '--cfg-options', *common)
    assert 'StableKD stage 2/2 from epoch 3: partition {1234}{5}' in log_b
    assert 'stage 0/2' not in log_b and 'stage 1/2' not in log_b
    lr_b = {s['step']: s['lr'] for s in scalars(work_b) if 'lr' in s}
    assert sorted(lr_b) == list(range(9, 13))
    assert [lr_b[i] for i in lr_b] == pytest.approx([lr_a[i] for i in lr_b], rel=1e-9)

    # tools/test.py on the distillation checkpoint and on the student-only export agree
    res = []
    for ckpt in (work_a / 'epoch_3.pth', work_a / 'student_epoch_3.pth'):
        out = tmp_path / f'{ckpt.stem}.json'
        run_tool('test.py', cfg, ckpt, '--work-dir', tmp_path / 'test', '--out', out,
                 '--cfg-options', *NARROW_KD)
        res.append(json.loads(out.read_text())['accuracy/top1'])
    assert res[0] == res[1]


def test_dist_train_sh_runs_two_processes_on_cpu(teacher_run, tmp_path):
    cfg, _ = teacher_run
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHON=sys.executable, PORT='29517',
               OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', str(REPO / 'tools/dist_train.sh'), str(cfg), '2', '--work-dir',
         str(tmp_path / 'w'), '--cfg-options', 'train_cfg.max_epochs=1', *NARROW],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log and "dist_cfg: {'backend': 'gloo'}" in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    assert (tmp_path / 'w' / 'epoch_1.pth').is_file()


def test_dist_test_sh_runs_two_processes_on_cpu(teacher_run, tmp_path):
    cfg, work = teacher_run
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHON=sys.executable, PORT='29519',
               OMP_NUM_THREADS='1')
    out = tmp_path / 'metrics.yaml'
    proc = subprocess.run(
        ['bash', str(REPO / 'tools/dist_test.sh'), str(cfg), str(work / 'epoch_1.pth'), '2',
         '--work-dir', str(tmp_path / 'w'), '--out', str(out), '--cfg-options', *NARROW],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Distributed training: True' in proc.stdout + proc.stderr
    assert 0.0 <= mmengine.load(out)['accuracy/top1'] <= 100.0  # one writer, valid yaml


def test_default_work_dir_keeps_method_folders_apart():
    from mmstablekd.apis.runner import default_work_dir
    assert default_work_dir('configs/kd/resnet18_r34_cifar100.py') == \
        './work_dirs/kd_resnet18_r34_cifar100'
    assert default_work_dir('configs/stablekd/resnet18_r34_cifar100.py') == \
        './work_dirs/stablekd_resnet18_r34_cifar100'
    assert default_work_dir('/tmp/my_cfg.py') == './work_dirs/my_cfg'


def test_hook_and_scheduler_disagreeing_is_a_clear_error(teacher_run, data_override, tmp_path):
    cfg = data_override('configs/stablekd/resnet18_r34_cifar100.py')
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools/train.py'), cfg, '--work-dir', str(tmp_path / 'w'),
         '--cfg-options', 'train_cfg.max_epochs=3', 'param_scheduler.0.num_stages=2',
         'model.teacher_ckpt=None', *NARROW_KD],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert re.search(r'param_scheduler StageCyclicLR has 2 stages.*the model '
                     r'\(num_recompositions=2\).*3 stages', proc.stderr)
