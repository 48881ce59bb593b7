"""Quickstart: the digits writer, the end-to-end comparison pipeline and its plots."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kdbench import methods as mt
from kdbench import quickstart as qs
from mmstablekd.datasets.digits import load_digits_arrays, split_indices, write_digits_dataset


def _tree_digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def digits_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('digits')
    write_digits_dataset(root)
    return root


def test_digits_writer_is_deterministic_and_written_once(digits_root, tmp_path):
    other = tmp_path / 'again'
    meta = write_digits_dataset(other)
    assert _tree_digest(other) == _tree_digest(digits_root)
    first_png = next((other / 'train' / '0').glob('*.png'))
    mtime = first_png.stat().st_mtime_ns
    assert write_digits_dataset(other) == meta  # second call: meta matches, nothing rewritten
    assert first_png.stat().st_mtime_ns == mtime


def test_digits_split_is_stratified_and_partitions_the_set():
    images, labels = load_digits_arrays()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 255
    split = split_indices(labels, 0.2, seed=0)
    train, test = set(split['train'].tolist()), set(split['test'].tolist())
    assert not train & test and train | test == set(range(len(labels)))
    assert len(test) == int(np.ceil(0.2 * len(labels)))  # sklearn's rounding of test_size
    for c in range(10):
        n_c = int((labels == c).sum())
        assert abs(int((labels[split['test']] == c).sum()) - 0.2 * n_c) < 1
    assert not np.array_equal(split['test'], split_indices(labels, 0.2, seed=1)['test'])
    with pytest.raises(ValueError, match='test_fraction'):
        split_indices(labels, 1.5, seed=0)


def test_mmpretrain_custom_dataset_reads_the_digits(digits_root):
    from mmpretrain.datasets import CustomDataset
    meta = json.loads((digits_root / 'meta.json').read_text())
    images, labels = load_digits_arrays()
    for split in ('train', 'test'):
        ds = CustomDataset(data_root=str(digits_root), data_prefix=split, pipeline=[])
        assert list(ds.CLASSES) == [str(c) for c in range(10)]
        gt = np.array([ds.get_data_info(i)['gt_label'] for i in range(len(ds))])
        assert np.bincount(gt, minlength=10).tolist() == meta['counts'][split]
        # file name = index in sklearn's array; label and pixels must match the source
        for i in (0, len(ds) // 2, len(ds) - 1):
            info = ds.get_data_info(i)
            idx = int(Path(info['img_path']).stem)
            assert info['gt_label'] == labels[idx]
            assert np.array_equal(np.asarray(Image.open(info['img_path'])), images[idx])
    assert sum(meta['counts']['train']) == 1437 and sum(meta['counts']['test']) == 360


def test_every_quickstart_method_has_a_config():
    assert mt.select() == mt.rows(mt.QUICKSTART)
    with pytest.raises(ValueError, match='unknown method'):
        mt.select(['NoSuchKD'])


def test_quickstart_runs_end_to_end(digits_root, tmp_path):
    lines = []
    out = tmp_path / 'out'
    result = qs.run_comparison(methods=['Student (scratch)', 'KD'], epochs=1, seeds=[0],
                               data_root=str(digits_root), work_root=str(tmp_path / 'work'),
                               out_dir=str(out), teacher_epochs=1, progress=lines.append)
    assert any('teacher: training' in line for line in lines)
    assert any('KD' in line and 'epoch 1/1' in line for line in lines)
    methods = [r['method'] for r in result['rows']]
    assert methods == ['ResNet-34 teacher', 'Student (scratch)', 'KD']
    for r in result['rows']:
        assert 0.0 <= r['top1_mean'] <= 100.0 and r['sec_per_epoch'] > 0
    table = (out / 'results.md').read_text()
    assert '| KD | 1 |' in table and '| Student (scratch) | 1 |' in table
    rec = result['records'][1]
    iters = -(-1437 // 32)  # ceil: the last partial batch is kept
    assert len(rec.lr) == iters and len(rec.val_top1) == 1 and rec.stage == [-1] * iters
    assert rec.iter_epoch[0] == 0.0 and 0.9 < rec.iter_epoch[-1] < 1.0
    with Image.open(result['files']['accuracy_png']) as im:
        assert im.size[0] > 800 and im.size[1] > 400
    data = json.loads((out / 'results.json').read_text())
    assert len(data['records']) == 2
    # a second run reuses the teacher instead of training it again; without the json kept
    # next to the checkpoint (trained by tools/train.py) it is evaluated once
    lines.clear()
    work = tmp_path / 'work'
    _, teacher = qs.ensure_teacher(str(digits_root), str(work), lines.append, epochs=1)
    assert 'reusing' in lines[0] and teacher.val_top1 == result['teacher'].val_top1
    (work / 'quickstart_teacher_r34_digits' / 'quickstart_teacher.json').unlink()
    _, evaluated = qs.ensure_teacher(str(digits_root), str(work), lines.append, epochs=1)
    assert evaluated.final_top1 == pytest.approx(result['teacher'].final_top1)


def test_stage_timeline_plot(tmp_path):
    from kdbench.plots import plot_stage_timeline
    rec = qs.RunRecord('StableKD-5/2', 0, 3, val_top1=[50.0, 80.0, 90.0])
    for it in range(30):
        rec.iter_epoch.append(it / 10)
        rec.stage.append(it // 10)
        rec.lr.append(0.1 * (1 + it % 10))
    rec.stage_names = {0: '{1}{2}{3}{4}{5}', 1: '{12}{34}{5}', 2: '{1234}{5}'}
    path = plot_stage_timeline(rec, str(tmp_path / 'timeline.png'))
    with Image.open(path) as im:
        assert im.format == 'PNG' and im.size[0] > 800


@pytest.mark.parametrize('row', mt.METHODS, ids=lambda m: f'{m.name}:{m.config}')
def test_method_table_minimum_epochs_are_the_configs_stage_counts(row):
    """Each row's ``min_epochs`` is the number of training stages of the model its config
    builds (the budget below which the stage hook refuses to train)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmstablekd.registry import MODELS
    cfg = Config.fromfile(mt.config_dir() / row.config)
    if 'teacher_ckpt' in cfg.model:
        cfg.model.teacher_ckpt = None
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    assert row.min_epochs == int(getattr(model, 'num_stages', 1))
    assert row.colour and row.parts


def test_every_part_has_unique_names_and_a_teacher():
    for part in (mt.QUICKSTART, mt.TIMING, mt.CRD):
        names = [m.name for m in mt.rows(part)]
        assert len(names) == len(set(names)) and part in mt.TEACHERS


@pytest.mark.parametrize('kwargs,match', [
    (dict(methods=['SSKD'], epochs=3), r'--epochs 3 is too few for SSKD \(>= 5\).*--epochs 5'),
    (dict(methods=['NoSuchKD']), 'unknown method'),
    (dict(epochs=0), '--epochs must be a positive integer'),
    (dict(seeds=[]), '--seeds needs at least one seed'),
    (dict(teacher_epochs=0), '--teacher-epochs must be a positive integer'),
])
def test_quickstart_arguments_are_checked_before_training(kwargs, match, tmp_path):
    args = dict(methods=None, epochs=6, seeds=[0], data_root=str(tmp_path / 'd'),
                work_root=str(tmp_path / 'w'), out_dir=str(tmp_path / 'o'))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        qs.run_comparison(**args, progress=pytest.fail)  # fails before any progress line
    assert not any(tmp_path.iterdir())  # nothing written


def test_quickstart_refuses_a_folder_below_a_file(tmp_path):
    (tmp_path / 'file').write_text('x')
    with pytest.raises(ValueError, match='--out-dir .* is a file, not a folder'):
        qs.check_arguments(None, 6, [0], str(tmp_path / 'd'), str(tmp_path / 'w'),
                           str(tmp_path / 'file' / 'out'))


def test_readme_wheel_command_is_refused_up_front_with_what_to_run(tmp_path, capsys,
                                                                   monkeypatch):
    """`tools/quickstart.py --epochs 3 --seeds 0` (README): SSKD needs 5 epochs; the tool says
    so and which methods fit, before writing data or training anything."""
    from conftest import load_tool
    tool = load_tool('quickstart')
    monkeypatch.chdir(tmp_path)
    assert tool.main(['--epochs', '3', '--seeds', '0']) == 2
    err = capsys.readouterr().err
    assert 'too few for SSKD (>= 5)' in err and '--epochs 5' in err
    assert "'StableKD-5/2'" in err  # a selection that fits 3 epochs
    assert not any(tmp_path.iterdir())


def test_quickstart_help_shows_defaults(capsys):
    from conftest import load_tool
    with pytest.raises(SystemExit):
        load_tool('quickstart').parse_args(['--help'])
    out = ' '.join(capsys.readouterr().out.split())
    for default in ('(default: 6)', '(default: [0, 1, 2])', '(default: data/digits)',
                    '(default: work_dirs/quickstart)', "'SSKD' (>= 5 epochs)"):
        assert default in out, default
