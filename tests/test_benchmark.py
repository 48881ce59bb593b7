"""Benchmark helpers: step timing rows, peak-memory accounting, convergence summaries."""
import pytest
import torch

from kdbench import benchmark as bm
from kdbench.methods import config_dir
from kdbench.quickstart import RunRecord
from mmstablekd.datasets.digits import write_digits_dataset


def test_peak_tensor_memory_counts_live_storages():
    with bm.PeakTensorMemory() as mem:
        a = torch.ones(256, 256)            # 256 KiB
        b = a * 2                           # +256 KiB -> peak 512 KiB
        del a, b
        c = torch.zeros(128, 128)           # 64 KiB after both were freed
    assert mem.peak == 2 * 256 * 256 * 4
    assert mem.current == 128 * 128 * 4
    del c


def test_time_train_steps_returns_structured_rows(tmp_path):
    root = tmp_path / 'digits'
    write_digits_dataset(root)
    methods = [('KD', str(config_dir() / 'kd_r18_r34_digits.py')),
               ('StableKD-5/2', str(config_dir() / 'stablekd_5-2_r18_r34_digits.py'))]
    rows = bm.time_train_steps(methods, data_root=str(root), rounds=2, inner=1, warmup=1)
    keys = [(r['method'], r['stage']) for r in rows]
    assert keys == [('KD', None), (bm.PLAIN, None),
                    ('StableKD-5/2', '0: {1}{2}{3}{4}{5}'), ('StableKD-5/2', '1: {12}{34}{5}'),
                    ('StableKD-5/2', '2: {1234}{5}'), ('StableKD-5/2', 'epoch mean')]
    for r in rows:
        assert r['ms'] > 0 and r['mem_mib'] > 0 and r['ratio'] > 0
    assert rows[0]['ratio'] == 1.0 and rows[0]['mem_ratio'] == 1.0
    stages = rows[2:5]
    assert sum(r['weight'] for r in stages) == pytest.approx(1.0)  # 6 epochs -> 2, 2, 2
    assert rows[5]['ms'] == pytest.approx(sum(r['ms'] for r in stages) / 3)
    assert rows[5]['ratio'] == pytest.approx(sum(r['ratio'] for r in stages) / 3)
    table = bm.format_timing_table(rows)
    assert table.count('\n') == len(rows) + 1 and '| KD | – |' in table
    targets = bm.timing_targets(rows)
    assert len(targets) == 2 and 'plain PyTorch' in targets[1]
    assert rows[0]['ms_min'] <= rows[0]['ms']


def _rec(method, epochs, acc, seed=0):
    return RunRecord(method, seed, epochs, val_top1=[acc], epoch_seconds=[1.0])


def test_convergence_table_and_target_use_medians():
    records = [_rec('KD', 9, a, s) for s, a in enumerate([90.0, 95.0, 99.0])]
    records += [_rec('StableKD-5/2', 3, a, s) for s, a in enumerate([10.0, 96.0, 97.0])]
    table = bm.format_convergence_table(records, [3, 9])
    assert '| KD | – | 95.00 (94.67 ± 4.51) |' in table
    target = bm.convergence_target(records, 3)
    assert '**96.00**' in target and '**95.00**' in target and 'met' in target
    assert 'NOT' not in target
    assert bm.convergence_target(records, 2) is None
