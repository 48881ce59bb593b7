"""BaseDistiller: teacher loading (strict, CPU), frozen eval teacher, plain-checkpoint loading."""
import pytest
import torch
from mmengine.runner import load_checkpoint

import mmstablekd  # noqa: F401
from mmstablekd.registry import MODELS
from mmstablekd.utils.checkpoint import CheckpointError
from test_stablekd_semantics import BOUNDARIES, classifier


def distiller(**kw):
    return MODELS.build(dict(type='StableKD', student=classifier(18), teacher=classifier(34),
                             boundaries=BOUNDARIES, **kw))


def test_teacher_ckpt_is_loaded_strictly_and_survives_init_weights(tmp_path):
    teacher = MODELS.build(classifier(34))
    path = tmp_path / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    model = distiller(teacher_ckpt=str(path))
    model.init_weights()  # what the Runner does: must not re-initialise the loaded teacher
    for k, v in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[k], v), k
    model.train()
    assert not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())

    wrong = tmp_path / 'wrong.pth'
    torch.save({'state_dict': MODELS.build(classifier(18)).state_dict()}, wrong)
    with pytest.raises(CheckpointError, match='model.teacher_ckpt=.* does not match '
                       'model.teacher .*missing keys: backbone.layer1.2'):
        distiller(teacher_ckpt=str(wrong))


def test_plain_student_checkpoint_loads_into_the_student(tmp_path):
    src = MODELS.build(classifier(18))
    path = tmp_path / 'student.pth'
    torch.save({'state_dict': src.state_dict()}, path)
    model = distiller()
    teacher_before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    load_checkpoint(model, str(path), map_location='cpu')  # teacher keys: reported missing
    for k, v in src.state_dict().items():
        assert torch.equal(model.student.state_dict()[k], v), k
    for k, v in teacher_before.items():
        assert torch.equal(model.teacher.state_dict()[k], v), k


def test_distiller_checkpoint_round_trips(tmp_path):
    a, b = distiller(), distiller()
    torch.save({'state_dict': a.state_dict()}, tmp_path / 'd.pth')
    load_checkpoint(b, str(tmp_path / 'd.pth'), strict=True)
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


@pytest.mark.parametrize('bad,match', [
    (dict(student='ImageClassifier'), 'model.student must be a model config dict'),
    (dict(teacher=dict(depth=34)), 'model.teacher must be a model config dict'),
    (dict(teacher_ckpt=3), 'model.teacher_ckpt must be a path string'),
])
def test_bad_model_configs(bad, match):
    cfg = dict(type='StableKD', student=classifier(18), teacher=classifier(34),
               boundaries=BOUNDARIES)
    cfg.update(bad)
    with pytest.raises(TypeError, match=match):
        MODELS.build(cfg)
