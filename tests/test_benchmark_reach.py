"""Benchmark additions: epochs to reach KD's final accuracy (synthetic curves), the low-data
rows' class-balanced subset, and the paper-size timing inputs."""
import pytest
import torch

from kdbench import benchmark as bm
from kdbench.methods import config_dir
from kdbench.quickstart import RunRecord, build_run_cfg


def run(method, curve, seed=0):
    return RunRecord(method, seed, len(curve), val_top1=list(curve))


def synthetic_records():
    # KD: budgets 3, 6, 12; final medians 70, 80, 90 -> target 90 (at 12 epochs)
    recs = [run('KD', c, s) for s, c in enumerate([[10, 40, 70], [10, 50, 60], [20, 60, 80]])]
    recs += [run('KD', [10] * 5 + [a], s) for s, a in enumerate([80, 79, 81])]
    recs += [run('KD', list(range(10, 130, 10))[:11] + [a], s) for s, a in enumerate([90, 91, 89])]
    # StableKD: reaches 90 with a 3-epoch budget (median 91), and at epoch 2 of its 12-epoch run
    recs += [run('StableKD-5/2', c, s) for s, c in enumerate([[60, 80, 91], [50, 85, 90],
                                                              [70, 90, 95]])]
    recs += [run('StableKD-5/2', [80, 92] + [93] * 10, s) for s in range(3)]
    # Scratch: never reaches 90
    recs += [run('Student (scratch)', [50] * e, 0) for e in (3, 12)]
    return recs


def test_epochs_to_reach_kd_final_accuracy():
    recs = synthetic_records()
    assert bm.reach_target(recs) == 90
    assert bm.budget_to_reach(recs, 'KD', 90) == 12
    assert bm.budget_to_reach(recs, 'StableKD-5/2', 90) == 3
    assert bm.budget_to_reach(recs, 'Student (scratch)', 90) is None
    # per-epoch median of the 12-epoch KD runs: 10, 20, ... 110 at epoch 11 -> first >= 90: 9
    assert bm.epoch_to_reach(recs, 'KD', 90) == 9
    assert bm.epoch_to_reach(recs, 'StableKD-5/2', 90) == 2
    assert bm.epoch_to_reach(recs, 'Student (scratch)', 90) is None
    rows = {r['method']: r for r in bm.reach_rows(recs)}
    assert rows['StableKD-5/2']['ratio'] == pytest.approx(3 / 12)
    assert rows['KD']['ratio'] == 1.0 and rows['Student (scratch)']['ratio'] is None
    table = bm.format_reach_table(bm.reach_rows(recs))
    assert '**90.00 %**' in table and '| StableKD-5/2 | 3 | 0.25 | 2 of 12 |' in table
    assert '| Student (scratch) | – | – | > 12 (not reached) |' in table
    goal = bm.reach_goal(bm.reach_rows(recs), '10 % of the data')
    assert '**0.250**' in goal and 'met' in goal and 'NOT' not in goal
    assert 'NOT met' in bm.reach_goal(bm.reach_rows(recs), 'x', method='Student (scratch)')
    assert bm.reach_rows([run('DIST', [1, 2])]) == []  # no KD: nothing to reach


def test_median_curve_is_per_epoch_over_seeds():
    runs = [run('KD', [1, 5, 9]), run('KD', [3, 4, 7]), run('KD', [2, 6, 8])]
    assert bm.median_curve(runs) == [2, 5, 8]


def test_low_data_runs_train_on_a_class_balanced_subset(tmp_path):
    cfg = build_run_cfg(str(config_dir() / 'kd_r18_r34_digits.py'), 0, 3, str(tmp_path / 'w'),
                        'data/digits', 'teacher.pth', train_fraction=0.1)
    ds = cfg.train_dataloader.dataset
    assert ds.type == 'ClassBalancedSubset' and ds.fraction == 0.1 and ds.seed == 0
    assert ds.dataset.type == 'LocalCustomDataset' and ds.dataset.data_root == 'data/digits'
    assert cfg.val_dataloader.dataset.type == 'LocalCustomDataset'  # validation on the full split
    full = build_run_cfg(str(config_dir() / 'kd_r18_r34_digits.py'), 0, 3, str(tmp_path / 'w'),
                         'data/digits', 'teacher.pth', train_fraction=1.0)
    assert full.train_dataloader.dataset.type == 'LocalCustomDataset'


def test_paper_size_inputs():
    batch = bm.synthetic_batch(4, 32, 100, seed=1)
    assert len(batch['inputs']) == 4 and batch['inputs'][0].shape == (3, 32, 32)
    assert batch['inputs'][0].dtype == torch.uint8
    assert all(0 <= int(s.gt_label) < 100 for s in batch['data_samples'])
    methods = bm.paper_methods(['KD', 'StableKD-5/2'])
    assert [m for m, _ in methods] == ['KD', 'StableKD-5/2']
    assert methods[1][1].endswith('configs/stablekd/resnet18_r34_cifar100.py')
    with pytest.raises(ValueError, match='unknown paper-size method'):
        bm.paper_methods(['KDD'])


def test_paper_size_step_timing_runs_on_full_width_networks():
    rows = bm.time_train_steps(bm.paper_methods(['KD']), rounds=1, inner=1, warmup=0,
                               plain=False, memory=False, batch=bm.synthetic_batch(2, 32, 100))
    assert [(r['method'], r['stage']) for r in rows] == [('KD', None)] and rows[0]['ms'] > 0
    model, _, _ = bm.build_method(bm.paper_methods(['KD'])[0][1])
    assert model.student.backbone.layer4[-1].conv2.out_channels == 512  # full width
    assert model.teacher.backbone.depth == 34 and model.student.head.num_classes == 100


def test_paper_step_goal_reads_the_stablekd_epoch_mean():
    rows = [dict(method='KD', stage=None, ratio=1.0),
            dict(method='StableKD-5/2', stage='0: {1}{2}{3}{4}{5}', ratio=0.9),
            dict(method='StableKD-5/2', stage='epoch mean', ratio=0.98)]
    goal = bm.paper_step_goal(rows)
    assert '**0.980**' in goal and 'NOT met' in goal and '0.97' in goal
    assert bm.paper_step_goal(rows[:1]) is None


def _load_tool():
    import importlib.util
    from conftest import REPO
    spec = importlib.util.spec_from_file_location('benchmark_tool', REPO / 'tools/benchmark.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_rows_per_fraction_with_their_budgets(monkeypatch):
    tool = _load_tool()
    calls = []

    def fake_convergence(methods, budgets, seeds, data_root, out_dir, ckpt, say,
                         train_fraction=None):
        calls.append((list(budgets), train_fraction, out_dir))
        return [run('KD', [50.0] * b, s) for b in budgets for s in seeds], []

    monkeypatch.setattr(tool.bm, 'convergence', fake_convergence)
    monkeypatch.setattr(tool, 'ensure_teacher',
                        lambda *a, **k: ('t.pth', RunRecord('T', 0, 15, val_top1=[99.0])))
    args = tool.parse_args(['--methods', 'KD', '--fractions', '1', '0.1', '--seeds', '0'])
    assert args.multiples == [1, 2, 4] and args.low_data_base_epochs == 4
    parts = '\n'.join(tool.convergence_rows(args, lambda line: None))
    assert [c[:2] for c in calls] == [([3, 6, 12], 1.0), ([4, 8, 16], 0.1)]
    assert calls[0][2] != calls[1][2]  # separate run folders per fraction
    assert '## Convergence on 100 % of the digits' in parts
    assert '## Convergence on 10 % of the digits' in parts
    assert parts.count('### Epochs to reach') == 2
    assert tool.parse_args([]).fractions == [1.0, 0.2, 0.1]
