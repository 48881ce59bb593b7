"""Issue 19.3 and 19.6: remote checkpoints are cached per URL; ``tools/test.py --out`` is
checked before anything is evaluated; the converter names write errors; ``load_from`` with a
distillation checkpoint into a plain classifier loads its student or refuses clearly."""
from pathlib import Path

import pytest
import torch
from conftest import load_tool, resnet_cifar_classifier
from mmengine.config import Config
from mmengine.runner import Runner

import mmstablekd  # noqa: F401
from mmstablekd.registry import MODELS
from mmstablekd.utils import checkpoint as ckpt_utils
from mmstablekd.utils.checkpoint import CheckpointError

READ_ONLY = '/sys'  # refuses new files even for root


def test_url_cache_is_keyed_by_the_whole_url(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    served = {'http://h/a/model.pth': 'a', 'http://h/b/model.pth': 'b',
              'http://h/b/model.pth?v=2': 'c'}

    def download(url, dst, *args, **kwargs):
        torch.save(dict(state_dict=dict(w=torch.tensor([ord(served[url])]))), dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', download)
    seen = {url: int(ckpt_utils.load_checkpoint_file(url)['state_dict']['w'])
            for url in served}
    assert seen == {url: ord(v) for url, v in served.items()}
    assert len({ckpt_utils.url_cache_path(url) for url in served}) == 3
    assert all(ckpt_utils.url_cache_path(url).endswith('-model.pth') for url in served)


@pytest.mark.parametrize('out, message', [
    ('m.txt', 'unknown format'),
    ('.', 'is a directory'),
    ('no/such/dir/m.json', 'does not exist'),
    (f'{READ_ONLY}/m.json', 'cannot be written'),
])
def test_test_py_checks_out_before_evaluating(out, message, tmp_path):
    out = out if out.startswith('/') else str(tmp_path / out)
    # config and checkpoint do not exist: the --out error must come first
    with pytest.raises(ValueError, match=message):
        load_tool('test').main([str(tmp_path / 'missing.py'), str(tmp_path / 'missing.pth'),
                                '--out', out, '--out-item', 'metrics'])


def test_converter_names_a_read_only_destination(tmp_path, capsys):
    src = tmp_path / 'kd.pth'
    state = MODELS.build(resnet_cifar_classifier(18)).state_dict()
    torch.save(dict(meta=dict(epoch=1), state_dict={f'student.{k}': v for k, v in
                                                    state.items()}), src)
    assert load_tool('convert_student').main([str(src), f'{READ_ONLY}/student.pth']) == 1
    err = capsys.readouterr().err
    assert err.startswith('convert_student: error: output') and 'cannot be written' in err
    assert 'Traceback' not in err


# ---- load_from a distillation checkpoint into a plain classifier --------------------------


def _plain_runner(tmp_path: Path, model: dict) -> Runner:
    cfg = Config(dict(model=model, work_dir=str(tmp_path / 'w'), default_scope='mmpretrain',
                      custom_hooks=[dict(type='ResumeStateHook')]))
    return Runner.from_cfg(cfg)


def _distill_ckpt(tmp_path: Path) -> tuple:
    distiller = MODELS.build(dict(type='VanillaKD', student=resnet_cifar_classifier(18),
                                  teacher=resnet_cifar_classifier(34), teacher_ckpt=None))
    path = tmp_path / 'kd_r18.pth'
    torch.save(dict(meta=dict(epoch=1), state_dict=distiller.state_dict()), path)
    return path, distiller.student.state_dict()


def test_load_from_distillation_checkpoint_loads_its_student(tmp_path):
    path, student = _distill_ckpt(tmp_path)
    runner = _plain_runner(tmp_path, resnet_cifar_classifier(18))
    assert not all(torch.equal(runner.model.state_dict()[k], v) for k, v in student.items())
    runner.load_checkpoint(str(path))  # what load_from does (through the config's hooks)
    loaded = runner.model.state_dict()
    assert loaded.keys() == student.keys()
    assert all(torch.equal(loaded[k], v) for k, v in student.items())


def test_load_from_distillation_checkpoint_matching_nothing_refuses(tmp_path):
    path, _ = _distill_ckpt(tmp_path)
    lenet = dict(type='ImageClassifier', backbone=dict(type='LeNet5', num_classes=-1),
                 head=dict(type='ClsHead'))
    runner = _plain_runner(tmp_path, lenet)
    with pytest.raises(CheckpointError, match='is a distillation checkpoint, and neither'):
        runner.load_checkpoint(str(path))
