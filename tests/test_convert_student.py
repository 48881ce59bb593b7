"""tools/convert_student.py on a real distillation checkpoint written by MMEngine's Runner.

A narrow ResNet-18 student / wider ResNet-34 teacher pair (so StableKD needs projectors) is
distilled for a few iterations with configs/stablekd/resnet18_r34_imagenet.py; the converter
must keep exactly the student, drop teacher, projectors and training state, and refuse files
it cannot use with a clear message and exit status 1.
"""
import importlib.util
import subprocess
import sys

import pytest
import torch
from conftest import DATA_OVERRIDE, REPO
from mmengine.config import Config
from mmengine.runner import Runner, load_checkpoint

from mmstablekd.registry import MODELS
from mmstablekd.utils.student_export import CheckpointError, key_groups, split_student

CONFIG = 'configs/stablekd/resnet18_r34_imagenet.py'
NARROW = '''
model = dict(
    teacher_ckpt=None, projectors=True, probe_input_shape=(3, 32, 32),
    student=dict(backbone=dict(stem_channels=8, base_channels=8),
                 head=dict(num_classes=4, in_channels=64, topk=(1, ))),
    teacher=dict(backbone=dict(stem_channels=16, base_channels=16),
                 head=dict(num_classes=4, in_channels=128, topk=(1, ))))
train_cfg = dict(max_epochs=4, val_interval=4)
val_evaluator = dict(topk=(1, ))
default_hooks = dict(checkpoint=dict(interval=4), logger=dict(interval=1))
work_dir = {work_dir!r}
'''


def _load_tool():
    spec = importlib.util.spec_from_file_location('convert_student',
                                                  REPO / 'tools' / 'convert_student.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


convert_student = _load_tool()


@pytest.fixture(scope='module')
def distilled(tiny_data_root, tmp_path_factory):
    """(distillation checkpoint, student-only checkpoint, the run's config)."""
    tmp = tmp_path_factory.mktemp('convert')
    cfg_file = tmp / 'cfg.py'
    cfg_file.write_text(DATA_OVERRIDE.format(base=str(REPO / CONFIG), root=str(tiny_data_root),
                                             batch_size=8) +
                        NARROW.format(work_dir=str(tmp / 'work')))
    cfg = Config.fromfile(str(cfg_file))
    Runner.from_cfg(cfg).train()
    return tmp / 'work' / 'epoch_4.pth', tmp / 'work' / 'student_epoch_4.pth', cfg


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def test_classifier_export_keeps_exactly_the_student(distilled, tmp_path, capsys):
    src, _, cfg = distilled
    source = _state(src)
    assert any(k.startswith('projectors.') for k in source)  # the pair really needs them
    dst = tmp_path / 'student.pth'
    assert convert_student.main([str(src), str(dst)]) == 0

    exported = torch.load(dst, map_location='cpu', weights_only=True)  # plain tensors only
    assert set(exported) == {'meta', 'state_dict'}
    expected = {k[len('student.'):]: v for k, v in source.items() if k.startswith('student.')}
    assert list(exported['state_dict']) == list(expected)
    for key, value in expected.items():
        assert torch.equal(exported['state_dict'][key], value), key

    student = MODELS.build(cfg.model.student)
    load_checkpoint(student, str(dst), map_location='cpu', strict=True)

    out = capsys.readouterr().out
    n_teacher = sum(k.startswith('teacher.backbone.') for k in source)
    n_proj = sum(k.startswith('projectors.0.') for k in source)
    assert f'kept {len(expected)} tensors (student classifier)' in out
    assert f'dropped {len(source) - len(expected)} tensors' in out
    assert f'teacher.backbone: {n_teacher}' in out
    assert f'projectors.0: {n_proj}' in out
    assert 'optimizer' in out.split('dropped checkpoint entries')[1]


def test_backbone_export_strips_the_prefix(distilled, tmp_path, capsys):
    src, _, cfg = distilled
    source = _state(src)
    dst = tmp_path / 'backbone.pth'
    assert convert_student.main([str(src), str(dst), '--backbone-only']) == 0

    exported = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    prefix = 'student.backbone.'
    expected = {k[len(prefix):]: v for k, v in source.items() if k.startswith(prefix)}
    assert list(exported) == list(expected) and 'conv1.weight' in exported
    assert all(torch.equal(exported[k], v) for k, v in expected.items())
    backbone = MODELS.build(cfg.model.student.backbone)  # mmpretrain's ResNet, no prefix
    load_checkpoint(backbone, str(dst), map_location='cpu', strict=True)
    out = capsys.readouterr().out
    assert f'kept {len(expected)} tensors (backbone (no prefix))' in out
    assert 'student.head: 2' in out  # the classifier head is dropped


def _reject(src, tmp_path, capsys) -> str:
    dst = tmp_path / 'out.pth'
    assert convert_student.main([str(src), str(dst)]) == 1
    assert not dst.exists()
    return capsys.readouterr().err


def test_rejects_teacher_only_checkpoint(distilled, tmp_path, capsys):
    source = _state(distilled[0])
    teacher_only = tmp_path / 'teacher_only.pth'
    torch.save(dict(meta={}, state_dict={k: v for k, v in source.items()
                                         if k.startswith('teacher.')}), teacher_only)
    err = _reject(teacher_only, tmp_path, capsys)
    assert 'no student weights' in err and 'teacher-only' in err


def test_rejects_plain_classifier_checkpoint(distilled, tmp_path, capsys):
    err = _reject(distilled[1], tmp_path, capsys)  # student_epoch_4.pth: already exported
    assert 'no student weights' in err and 'plain classifier' in err


def test_rejects_corrupted_checkpoints(distilled, tmp_path, capsys):
    truncated = tmp_path / 'truncated.pth'
    data = distilled[0].read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    err = _reject(truncated, tmp_path, capsys)
    assert 'cannot read checkpoint' in err and 'corrupted' in err

    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint' * 100)
    assert 'cannot read checkpoint' in _reject(garbage, tmp_path, capsys)

    assert 'does not exist' in _reject(tmp_path / 'missing.pth', tmp_path, capsys)

    not_tensors = tmp_path / 'not_tensors.pth'
    torch.save(dict(state_dict={'student.backbone.conv1.weight': 'oops'}), not_tensors)
    assert 'not tensors' in _reject(not_tensors, tmp_path, capsys)


def test_refuses_to_overwrite_its_input(distilled, capsys):
    src = str(distilled[0])
    assert convert_student.main([src, src]) == 1
    assert 'is the input checkpoint' in capsys.readouterr().err


def test_script_exits_nonzero_with_the_message(tmp_path):
    teacher_only = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict={'teacher.backbone.conv1.weight': torch.zeros(1)}), teacher_only)
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'convert_student.py'),
                           str(teacher_only), str(tmp_path / 'out.pth')],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 1
    assert 'convert_student: error: no student weights' in proc.stderr
    assert 'teacher-only' in proc.stderr


def test_split_student_and_key_groups():
    w = torch.zeros(1)
    student, dropped = split_student({'student.backbone.a': w, 'teacher.head.b': w,
                                      'projectors.0.to_teacher.weight': w})
    assert list(student) == ['backbone.a']
    assert dropped == ['teacher.head.b', 'projectors.0.to_teacher.weight']
    assert key_groups(['t.b.x', 't.b.y', 't.h.z', 'p'], depth=2) == {'t.b': 2, 't.h': 1, 'p': 1}
    with pytest.raises(CheckpointError, match='plain classifier'):
        split_student({'backbone.conv1.weight': w, 'head.fc.weight': w})


def test_exported_meta_is_plain_so_weights_only_loading_works(tmp_path):
    import numpy as np
    src = tmp_path / 'distiller.pth'
    torch.save(dict(meta=dict(epoch=np.int64(3), seed=7, time='now', cfg='a config text',
                              hook_msgs=dict(x=1)),
                    state_dict={'student.backbone.w': torch.ones(2)}), src)
    convert_student.main([str(src), str(tmp_path / 'out.pth')])
    out = torch.load(tmp_path / 'out.pth', map_location='cpu', weights_only=True)
    assert out['meta'] == dict(epoch=3, seed=7, time='now', cfg='a config text',
                               exported_by='mmstablekd')
    assert type(out['meta']['epoch']) is int


# ---- checkpoint hygiene (issue 13.4) and clear messages (issue 14.6, 14.9) ----------------


def test_export_keeps_dataset_meta_and_cfg(distilled, tmp_path):
    src, student_ckpt, _ = distilled
    source_meta = torch.load(src, map_location='cpu', weights_only=False)['meta']
    assert convert_student.main([str(src), str(tmp_path / 's.pth')]) == 0
    meta = torch.load(tmp_path / 's.pth', weights_only=True)['meta']
    assert list(meta['dataset_meta']['classes']) == list(source_meta['dataset_meta']['classes'])
    assert meta['cfg'] == source_meta['cfg'] and 'StableKD' in meta['cfg']
    hook_meta = torch.load(student_ckpt, weights_only=True)['meta']  # StudentCheckpointHook
    assert hook_meta['dataset_meta']['classes'] == meta['dataset_meta']['classes']
    assert hook_meta['cfg'] == meta['cfg'] and hook_meta['epoch'] == 4


def test_default_output_beside_the_input(distilled, tmp_path):
    src = tmp_path / 'epoch_4.pth'
    src.write_bytes(distilled[0].read_bytes())
    assert convert_student.main([str(src)]) == 0
    assert convert_student.main([str(src), '--backbone-only']) == 0
    assert torch.load(tmp_path / 'epoch_4_student.pth', weights_only=True)['state_dict']
    backbone = torch.load(tmp_path / 'epoch_4_student_backbone.pth', weights_only=True)
    assert 'conv1.weight' in backbone['state_dict']


def test_inplace_replaces_the_input(distilled, tmp_path, capsys):
    src = tmp_path / 'epoch_4.pth'
    src.write_bytes(distilled[0].read_bytes())
    assert convert_student.main([str(src), str(tmp_path / 'other.pth'), '--inplace']) == 1
    assert 'do not also give an output' in capsys.readouterr().err
    assert convert_student.main([str(src), '--inplace']) == 0
    out = torch.load(src, weights_only=True)
    expected = {k[len('student.'):] for k in _state(distilled[0]) if k.startswith('student.')}
    assert set(out['state_dict']) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_4.pth']  # no temp left


def test_symlink_to_the_input_is_refused(distilled, tmp_path, capsys):
    src = tmp_path / 'epoch_4.pth'
    src.write_bytes(distilled[0].read_bytes())
    before = src.read_bytes()
    link = tmp_path / 'link.pth'
    link.symlink_to(src)
    assert convert_student.main([str(src), str(link)]) == 1
    assert 'same real file' in capsys.readouterr().err
    assert src.read_bytes() == before


def test_directories_are_named_as_directories(distilled, tmp_path, capsys):
    folder = tmp_path / 'folder'
    folder.mkdir()
    assert convert_student.main([str(folder), str(tmp_path / 'o.pth')]) == 1
    err = capsys.readouterr().err
    assert 'is a directory' in err and 'does not exist' not in err
    assert convert_student.main([str(distilled[0]), str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"output '{folder}' is a directory" in err and 'epoch_4_student.pth' in err
    assert list(folder.iterdir()) == []


def test_zero_byte_checkpoint_is_named_empty(tmp_path, capsys):
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    assert 'is empty (0 bytes)' in _reject(empty, tmp_path, capsys)


def test_non_finite_student_weights_are_refused(distilled, tmp_path, capsys):
    ckpt = torch.load(distilled[0], map_location='cpu', weights_only=False)
    state = ckpt['state_dict']
    state['student.backbone.conv1.weight'][0, 0, 0, 0] = float('nan')
    state['student.head.fc.bias'][0] = float('inf')
    state['teacher.backbone.conv1.weight'][0, 0, 0, 0] = float('nan')  # dropped: no matter
    bad = tmp_path / 'diverged.pth'
    torch.save(dict(meta={}, state_dict=state), bad)
    err = _reject(bad, tmp_path, capsys)
    assert '2 student tensors hold NaN/Inf' in err
    assert 'backbone.conv1.weight' in err and 'head.fc.bias' in err and 'teacher' not in err


def test_mmdet_resnet_loads_the_distillation_checkpoint_with_a_prefix(distilled):
    """The route that needs no conversion: Pretrained + prefix='student.backbone.'."""
    from mmdet.models.backbones import ResNet

    from mmstablekd.utils.checkpoint import mmengine_checkpoints
    src = distilled[0]
    backbone = ResNet(depth=18, stem_channels=8, base_channels=8, init_cfg=dict(
        type='Pretrained', checkpoint=str(src), prefix='student.backbone.'))
    reports = []
    backbone.register_load_state_dict_post_hook(
        lambda module, keys: reports.append((list(keys.missing_keys),
                                             list(keys.unexpected_keys))))
    with mmengine_checkpoints(str(src)):  # what tools/train.py wraps around Runner.train()
        backbone.init_weights()
    assert reports == [([], [])]
    prefix = 'student.backbone.'
    expected = {k[len(prefix):]: v for k, v in _state(src).items() if k.startswith(prefix)}
    state = backbone.state_dict()
    assert set(state) == set(expected)
    assert all(torch.equal(state[k], v) for k, v in expected.items())


def test_student_checkpoint_hook_writes_on_the_main_process_only(distilled, tmp_path,
                                                                 monkeypatch):
    from types import SimpleNamespace

    from mmengine.logging import MMLogger

    import mmstablekd.engine.hooks.student_checkpoint_hook as hook_module
    cfg = distilled[2]
    model = MODELS.build(dict(cfg.model, teacher_ckpt=None))
    runner = SimpleNamespace(model=model, epoch=3, iter=12, max_epochs=4, work_dir=str(tmp_path),
                             logger=MMLogger.get_current_instance(), cfg=cfg,
                             train_dataloader=SimpleNamespace(
                                 dataset=SimpleNamespace(metainfo=dict(classes=('a', 'b')))))
    hook = hook_module.StudentCheckpointHook()
    monkeypatch.setattr(hook_module, 'is_main_process', lambda: False)
    hook.after_train_epoch(runner)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(hook_module, 'is_main_process', lambda: True)
    hook.after_train_epoch(runner)
    out = torch.load(tmp_path / 'student_epoch_4.pth', weights_only=True)
    assert out['meta']['dataset_meta'] == dict(classes=('a', 'b'))
