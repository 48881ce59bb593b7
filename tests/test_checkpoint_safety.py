"""Checkpoints load without running code (issue 13.1) and bad files fail loudly (issue 14).

A malicious pickle (its ``__reduce__`` creates a marker file) is refused on every path that
reads checkpoints: ``model.teacher_ckpt``, ``tools/test.py``, ``tools/convert_student.py``,
``--resume`` and ``load_from`` through ``tools/train.py``; the marker is never created. Real
``Runner`` checkpoints, mmpretrain-style released weights (state dict + plain meta) and numpy
1.x pickles load with no opt-in; ``MMSTABLEKD_UNSAFE_LOAD=1`` is the explicit opt-in.
"""
import argparse
import importlib.util
import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA_OVERRIDE, REPO, load_tool, resnet_cifar_classifier
from mmengine.config import Config

from mmstablekd.apis.runner import build_test_cfg, build_train_cfg, run_test, run_train
from mmstablekd.registry import MODELS
from mmstablekd.utils.checkpoint import (UNSAFE_LOAD_ENV, CheckpointError,
                                         UnsafeCheckpointError, allowed_globals,
                                         load_checkpoint_file, mmengine_checkpoints)

TEACHER_CFG = 'configs/teachers/resnet34_cifar100.py'
STABLEKD_CFG = 'configs/stablekd/resnet18_r34_cifar100.py'


def narrow(prefix: str, width: int = 8) -> dict:
    return {f'{prefix}.backbone.stem_channels': width, f'{prefix}.backbone.base_channels': width,
            f'{prefix}.head.in_channels': 8 * width, f'{prefix}.head.num_classes': 4}


NARROW = narrow('model')
NARROW_KD = {**narrow('model.student'), **narrow('model.teacher')}


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Evil:
    """Unpickling this runs ``open(marker, 'w')``: the marker file proves code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f'open({self.marker!r}, "w").close()', )


@pytest.fixture
def evil(tmp_path):
    """(malicious checkpoint that looks like a distiller checkpoint, its marker path)."""
    marker = tmp_path / 'PWNED'
    path = tmp_path / 'evil.pth'
    weights = MODELS.build(resnet_cifar_classifier(18)).state_dict()
    state = {f'student.{k}': v for k, v in weights.items()}
    torch.save(dict(meta=dict(epoch=1, payload=_Evil(marker)), state_dict=state), path)
    # the file really is malicious: full unpickling runs the payload
    torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()
    return path, marker


def _refused(excinfo, path, marker) -> str:
    msg = str(excinfo.value)
    assert str(path) in msg and 'needs exec' in msg and UNSAFE_LOAD_ENV in msg, msg
    assert not marker.exists()
    return msg


def _cfg_file(tmp_path, config: str, tiny_data_root) -> str:
    path = tmp_path / 'cfg.py'
    path.write_text(DATA_OVERRIDE.format(base=str(REPO / config), root=str(tiny_data_root),
                                         batch_size=8))
    return str(path)


def _args(**kw) -> argparse.Namespace:
    """The defaults of every ``tools/train.py`` and ``tools/test.py`` flag, overridden by kw."""
    base = {**vars(load_tool('train').parse_args(['c.py'])),
            **vars(load_tool('test').parse_args(['c.py', 'c.pth']))}
    return argparse.Namespace(**{**base, **kw})


def _fresh_python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter (this repo first on the path, no torch load flags)."""
    env = {k: v for k, v in os.environ.items() if 'WEIGHTS_ONLY' not in k}
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          cwd=REPO, env=dict(env, PYTHONPATH=str(REPO)), timeout=300)


def test_import_changes_no_global():
    # the stack's own import side effects (cv2 extends LD_LIBRARY_PATH) are not ours
    code = ('import os, torch, cv2, mmengine.runner, mmpretrain.models;'
            'env = dict(os.environ); g = torch.serialization.get_safe_globals();'
            'import mmstablekd, mmstablekd.apis.runner, mmstablekd.utils.checkpoint;'
            'assert dict(os.environ) == env, set(os.environ.items()) ^ set(env.items());'
            'assert torch.serialization.get_safe_globals() == g; print("ok")')
    proc = _fresh_python(code)
    assert proc.returncode == 0 and 'ok' in proc.stdout, proc.stderr[-2000:]


def test_scope_restores_the_safe_globals_registry():
    original = torch.serialization.get_safe_globals()
    torch.serialization.add_safe_globals([(len, 'mymodule.mine')])
    try:
        before = set(map(str, torch.serialization.get_safe_globals()))
        with pytest.raises(RuntimeError):
            with mmengine_checkpoints():
                assert before < set(map(str, torch.serialization.get_safe_globals()))
                raise RuntimeError('boom')
        assert set(map(str, torch.serialization.get_safe_globals())) == before
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(original)


def test_teacher_ckpt_refuses_malicious_pickle(evil):
    path, marker = evil
    teacher = resnet_cifar_classifier(18)
    with pytest.raises(UnsafeCheckpointError) as e:
        MODELS.build(dict(type='VanillaKD', student=resnet_cifar_classifier(18), teacher=teacher,
                          teacher_ckpt=str(path)))
    assert 'model.teacher_ckpt' in _refused(e, path, marker)


def test_convert_student_refuses_malicious_pickle(evil, tmp_path, capsys):
    path, marker = evil
    out = tmp_path / 'out.pth'
    assert _tool('convert_student').main([str(path), str(out)]) == 1
    err = capsys.readouterr().err
    assert 'refused to load' in err and 'needs exec' in err and '--unsafe-load' in err
    assert not marker.exists() and not out.exists()


def test_tools_test_refuses_malicious_pickle(evil, tiny_data_root, tmp_path):
    path, marker = evil
    cfg = _cfg_file(tmp_path, STABLEKD_CFG, tiny_data_root)
    with pytest.raises(UnsafeCheckpointError) as e:
        build_test_cfg(_args(config=cfg, checkpoint=str(path), work_dir=str(tmp_path / 'w'),
                             cfg_options=NARROW_KD))
    _refused(e, path, marker)
    cfg = _cfg_file(tmp_path, TEACHER_CFG, tiny_data_root)
    with pytest.raises(UnsafeCheckpointError) as e:
        run_test(build_test_cfg(_args(config=cfg, checkpoint=str(path), cfg_options=NARROW,
                                      work_dir=str(tmp_path / 'w'))))
    _refused(e, path, marker)


@pytest.mark.parametrize('how', ['resume', 'load_from'])
def test_train_resume_and_load_from_refuse_malicious_pickle(evil, tiny_data_root, tmp_path,
                                                            how):
    path, marker = evil
    cfg = _cfg_file(tmp_path, TEACHER_CFG, tiny_data_root)
    options = dict(NARROW, **{'train_cfg.max_epochs': 1})
    if how == 'resume':
        args = _args(config=cfg, resume=str(path), cfg_options=options)
    else:
        args = _args(config=cfg, cfg_options=dict(options, load_from=str(path)))
    args.work_dir = str(tmp_path / 'w')
    with pytest.raises(UnsafeCheckpointError) as e:
        run_train(build_train_cfg(args))
    _refused(e, path, marker)
    assert not (tmp_path / 'w' / 'epoch_1.pth').exists()


def test_opt_in_unpickles_fully(evil, monkeypatch, tmp_path):
    path, marker = evil
    assert _tool('convert_student').main([str(path), str(tmp_path / 'o.pth'),
                                          '--unsafe-load']) == 0
    assert marker.exists()
    marker.unlink()
    monkeypatch.setenv(UNSAFE_LOAD_ENV, '1')
    with pytest.warns(UserWarning, match='can run code'):
        load_checkpoint_file(str(path))
    assert marker.exists()


_PLAN = {'train_cfg.max_epochs': 3, 'model.teacher_ckpt': None,
         'default_hooks.checkpoint.interval': 1}


@pytest.fixture(scope='module')
def runner_ckpt(tiny_data_root, tmp_path_factory):
    """A StableKD checkpoint written by MMEngine's Runner through tools/train.py."""
    tmp = tmp_path_factory.mktemp('runner_ckpt')
    cfg = _cfg_file(tmp, STABLEKD_CFG, tiny_data_root)
    args = _args(config=cfg, work_dir=str(tmp / 'w'), cfg_options=dict(NARROW_KD, **_PLAN))
    run_train(build_train_cfg(args))
    return tmp / 'w' / 'epoch_2.pth'


def test_runner_checkpoints_need_exactly_the_allow_list(runner_ckpt):
    needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(str(runner_ckpt)))
    names = {e[1] if isinstance(e, tuple) else f'{e.__module__}.{e.__qualname__}'
             for e in allowed_globals()}
    assert needed and needed <= names, needed - names
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in needed
    with pytest.raises(Exception, match='Unsupported global'):
        torch.load(runner_ckpt, weights_only=True)  # torch's default alone refuses it
    ckpt = load_checkpoint_file(str(runner_ckpt))
    assert {'state_dict', 'meta', 'message_hub', 'optimizer'} <= set(ckpt)


class _Getattr:
    """Pickles as ``getattr(HistoryBuffer, name)``, the form the allow-list answers."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return getattr, (HistoryBuffer, self.name)


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    from mmengine.logging import HistoryBuffer
    ok, bad = tmp_path / 'ok.pth', tmp_path / 'bad.pth'
    torch.save(dict(m=_Getattr('mean')), ok)
    assert load_checkpoint_file(str(ok))['m'] is HistoryBuffer.mean
    torch.save(dict(m=_Getattr('__init__')), bad)
    with pytest.raises(UnsafeCheckpointError, match="getattr.*'__init__'"):
        load_checkpoint_file(str(bad))


def test_mmpretrain_style_released_weights_load(tmp_path):
    model = MODELS.build(resnet_cifar_classifier(18))
    path = tmp_path / 'released.pth'
    meta = dict(epoch=100, mmcls_version='0.15.0', CLASSES=['a', 'b'], config='x = 1',
                seed=np.int64(3), best=np.float64(0.5), hist=np.arange(3.0))
    torch.save(dict(meta=meta, state_dict=OrderedDict(model.state_dict())), path)
    ckpt = load_checkpoint_file(str(path))
    assert ckpt['meta']['seed'] == 3 and list(ckpt['meta']['hist']) == [0.0, 1.0, 2.0]
    built = MODELS.build(dict(type='VanillaKD', student=resnet_cifar_classifier(18),
                              teacher=resnet_cifar_classifier(18), teacher_ckpt=str(path)))
    assert all(torch.equal(built.teacher.state_dict()[k], v)
               for k, v in model.state_dict().items())


def test_numpy1_pickles_load(tmp_path):
    """numpy < 2 wrote ``numpy.core.multiarray``; released weights were saved with it."""
    path = tmp_path / 'np1.pth'
    torch.save(dict(meta=dict(seed=np.int64(3), arr=np.arange(2)), state_dict={}), path,
               _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    assert b'numpy._core.multiarray' in data
    path.write_bytes(data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray'))
    meta = load_checkpoint_file(str(path))['meta']
    assert meta['seed'] == 3 and list(meta['arr']) == [0, 1]


def test_real_runner_checkpoint_resumes_without_opt_in(runner_ckpt, tiny_data_root, tmp_path):
    assert UNSAFE_LOAD_ENV not in os.environ
    work = tmp_path / 'resumed'
    args = _args(config=_cfg_file(tmp_path, STABLEKD_CFG, tiny_data_root), work_dir=str(work),
                 resume=str(runner_ckpt), cfg_options=dict(NARROW_KD, **_PLAN))
    runner = run_train(build_train_cfg(args))
    assert runner.epoch == 3 and (work / 'epoch_3.pth').is_file()
    assert not (work / 'epoch_1.pth').exists()  # it resumed, it did not start again


# ---- tools/test.py loads strictly (issue 14.2) -------------------------------------------


def _save_model(cfg_file: str, options: dict, path: Path, what: str = 'model') -> dict:
    cfg = Config.fromfile(cfg_file)
    cfg.merge_from_dict(options)
    model_cfg = cfg.model if what == 'model' else cfg.model[what]
    if what == 'model' and 'teacher_ckpt' in model_cfg:
        model_cfg.teacher_ckpt = None
    state = MODELS.build(model_cfg).state_dict()
    torch.save(dict(meta=dict(epoch=1), state_dict=state), path)
    return state


def _test_error(cfg_file, ckpt, options, tmp_path) -> str:
    with pytest.raises(CheckpointError) as e:
        run_test(build_test_cfg(_args(config=cfg_file, checkpoint=str(ckpt),
                                      cfg_options=options, work_dir=str(tmp_path / 't'))))
    return str(e.value)


def test_tools_test_refuses_resnet34_for_resnet18_student(tiny_data_root, tmp_path):
    r34 = tmp_path / 'r34.pth'
    _save_model(_cfg_file(tmp_path, TEACHER_CFG, tiny_data_root), NARROW, r34)
    msg = _test_error(_cfg_file(tmp_path, STABLEKD_CFG, tiny_data_root), r34, NARROW_KD,
                      tmp_path)
    assert 'does not match' in msg and 'unexpected keys' in msg
    assert 'backbone.layer1.2.conv1.weight' in msg  # ResNet-34 has 3 blocks in layer1


def test_tools_test_refuses_distiller_ckpt_for_plain_classifier(tiny_data_root, tmp_path):
    kd = tmp_path / 'kd.pth'
    _save_model(_cfg_file(tmp_path, STABLEKD_CFG, tiny_data_root), NARROW_KD, kd)
    msg = _test_error(_cfg_file(tmp_path, TEACHER_CFG, tiny_data_root), kd, NARROW, tmp_path)
    assert 'missing keys: backbone.conv1.weight' in msg and 'student.' in msg
    assert 'distillation checkpoint' in msg and 'convert_student' in msg


def test_tools_test_refuses_shape_mismatch_and_files_without_weights(tiny_data_root,
                                                                     tmp_path):
    cfg = _cfg_file(tmp_path, TEACHER_CFG, tiny_data_root)
    wide = tmp_path / 'wide.pth'
    _save_model(cfg, narrow('model', 16), wide)
    msg = _test_error(cfg, wide, NARROW, tmp_path)
    assert 'shape mismatches: backbone.conv1.weight (checkpoint [16, 3, 3, 3], model [8, 3, ' \
           '3, 3])' in msg
    empty = tmp_path / 'meta_only.pth'
    torch.save(dict(meta=dict(epoch=3)), empty)
    assert 'holds no weights' in _test_error(cfg, empty, NARROW, tmp_path)
    zero = tmp_path / 'zero.pth'
    zero.write_bytes(b'')
    assert 'is empty (0 bytes)' in _test_error(cfg, zero, NARROW, tmp_path)


def test_tools_test_still_evaluates_a_matching_checkpoint(tiny_data_root, tmp_path):
    cfg = _cfg_file(tmp_path, TEACHER_CFG, tiny_data_root)
    ok = tmp_path / 'ok.pth'
    _save_model(cfg, NARROW, ok)
    metrics = run_test(build_test_cfg(_args(config=cfg, checkpoint=str(ok), cfg_options=NARROW,
                                            work_dir=str(tmp_path / 't'))))
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


# ---- clear messages (issue 14.9) ----------------------------------------------------------


def test_teacher_ckpt_of_the_wrong_shape_names_the_field_and_keys(tmp_path):
    path = tmp_path / 'wide_teacher.pth'
    torch.save(dict(state_dict=MODELS.build(resnet_cifar_classifier(18, width=16))
                    .state_dict()), path)
    with pytest.raises(CheckpointError) as e:
        MODELS.build(dict(type='VanillaKD', student=resnet_cifar_classifier(18),
                          teacher=resnet_cifar_classifier(18), teacher_ckpt=str(path)))
    msg = str(e.value)
    assert f"model.teacher_ckpt='{path}' does not match model.teacher" in msg
    assert 'backbone.conv1.weight (checkpoint [16, 3, 3, 3], model [8, 3, 3, 3])' in msg


@pytest.mark.parametrize('case', ['zero', 'truncated', 'directory'])
def test_teacher_ckpt_bad_files_are_named(case, tmp_path):
    path = tmp_path / 'teacher.pth'
    if case == 'directory':
        path.mkdir()
    else:
        torch.save(dict(state_dict=MODELS.build(resnet_cifar_classifier(18)).state_dict()), path)
        data = path.read_bytes()
        path.write_bytes(b'' if case == 'zero' else data[:len(data) // 2])
    expected = {'zero': 'is empty (0 bytes)', 'truncated': 'truncated or corrupted',
                'directory': 'is a directory'}[case]
    with pytest.raises(CheckpointError, match='model.teacher_ckpt') as e:
        MODELS.build(dict(type='VanillaKD', student=resnet_cifar_classifier(18),
                          teacher=resnet_cifar_classifier(18), teacher_ckpt=str(path)))
    assert expected in str(e.value)


def test_safe_checkpoints_opt_in_registers_the_same_allow_list(evil):
    """Issue 20.1: ``import mmstablekd.safe_checkpoints`` (for MMEngine's own tools) adds
    exactly the list mmstablekd's loader uses; plain weights-only loads still refuse code."""
    path, marker = evil
    code = ('import torch, mmstablekd; g = set(torch.serialization.get_safe_globals());'
            'import mmstablekd.safe_checkpoints;'
            'from mmstablekd.utils.checkpoint import allowed_globals;'
            'added = set(torch.serialization.get_safe_globals()) - g;'
            'assert added == set(allowed_globals()), added ^ set(allowed_globals());'
            'import pickle\n'
            'try:\n'
            f'    torch.load({str(path)!r}, weights_only=True)\n'
            'except pickle.UnpicklingError as e:\n'
            '    print("refused", e)\n')
    proc = _fresh_python(code)
    assert proc.returncode == 0 and 'refused' in proc.stdout, proc.stderr[-2000:]
    assert not marker.exists()
