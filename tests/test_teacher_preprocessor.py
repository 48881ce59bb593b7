"""A teacher with its own preprocessing sees the student's (mixed) batch in its own
normalisation / resolution, in every distiller; batch augments run once."""
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.models.utils.teacher_preprocessor import TeacherPreprocessor
from mmstablekd.registry import MODELS
from conftest import resnet_cifar_classifier

S_MEAN, S_STD = [125.3, 123.0, 113.9], [63.0, 62.1, 66.7]
T_MEAN, T_STD = [127.5, 127.5, 127.5], [127.5, 127.5, 127.5]  # e.g. a BEiT(v1)/ViT teacher
AUGMENTS = dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)])
KINDS = {
    'StableKD': dict(boundaries=['backbone.layer1', 'backbone.layer2']),
    'VanillaKD': {},
    'DIST': {},
    'SSKD': {},
}


def student_cfg(num_classes=4):
    cfg = resnet_cifar_classifier(18, 4, num_classes)
    cfg['train_cfg'] = AUGMENTS
    return cfg


def build(kind, teacher_pre=dict(mean=T_MEAN, std=T_STD), **kw):
    torch.manual_seed(0)
    cfg = dict(type=kind, student=student_cfg(), teacher=resnet_cifar_classifier(34, 4),
               data_preprocessor=dict(mean=S_MEAN, std=S_STD, to_rgb=True, num_classes=4),
               teacher_data_preprocessor=teacher_pre, **KINDS[kind], **kw)
    return MODELS.build(cfg).train()


def raw_batch(n=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    samples = [DataSample().set_gt_label(int(y)) for y in torch.arange(n) % 4]
    return dict(inputs=images, data_samples=samples)


class _Counting:
    """Wraps a batch augment and counts its calls."""

    def __init__(self, augment):
        self.augment, self.calls = augment, 0

    def __call__(self, *args):
        self.calls += 1
        return self.augment(*args)


def renormalised(x_s):
    s_mean, s_std = torch.tensor(S_MEAN).view(1, 3, 1, 1), torch.tensor(S_STD).view(1, 3, 1, 1)
    t_mean, t_std = torch.tensor(T_MEAN).view(1, 3, 1, 1), torch.tensor(T_STD).view(1, 3, 1, 1)
    return (x_s * s_std + s_mean - t_mean) / t_std


def run_step(model, seed=3):
    """One training step's loss, with the student's and teacher's backbone inputs."""
    counting = _Counting(model.data_preprocessor.batch_augments)
    model.data_preprocessor.batch_augments = counting
    seen = {}
    hooks = [getattr(model, net).backbone.register_forward_pre_hook(
        lambda m, args, net=net: seen.setdefault(net, args[0].detach().clone()))
        for net in ('student', 'teacher')]
    torch.manual_seed(seed)
    np.random.seed(seed)  # mmpretrain's Mixup/CutMix draw lambda and the mode from numpy
    random.seed(seed)
    data = model.data_preprocessor(raw_batch(), training=True)
    losses = model(**data, mode='loss')
    for h in hooks:
        h.remove()
    return data, losses, seen, counting.calls


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_teacher_sees_its_own_normalisation_of_the_mixed_batch(kind):
    model = build(kind)
    data, losses, seen, calls = run_step(model)
    assert calls == 1, 'batch augments must run once per step'
    scores = torch.stack([s.gt_score for s in data['data_samples']])
    assert ((scores > 0) & (scores < 1)).any(), 'the batch was not mixed'
    # The student sees the preprocessor's (mixed) batch; the teacher the same images in its
    # own normalisation.
    assert torch.equal(seen['student'], data['inputs'])
    expected = renormalised(data['inputs'])
    assert not torch.allclose(seen['teacher'], data['inputs'], atol=1e-2)
    torch.testing.assert_close(seen['teacher'], expected, rtol=1e-5, atol=1e-5)
    assert all(torch.isfinite(v).all() for v in losses.values())


@pytest.mark.parametrize('kind', ['VanillaKD', 'SSKD'])
def test_teacher_resize(kind):
    model = build(kind, teacher_pre=dict(mean=T_MEAN, std=T_STD, size=48,
                                         interpolation='bicubic'))
    data, _, seen, _ = run_step(model)
    expected = F.interpolate(renormalised(data['inputs']), size=(48, 48), mode='bicubic',
                             align_corners=False, antialias=True)
    assert seen['teacher'].shape == (6, 3, 48, 48)
    torch.testing.assert_close(seen['teacher'], expected, rtol=1e-5, atol=1e-4)
    assert seen['student'].shape[-2:] == (32, 32)


def test_without_it_the_teacher_sees_the_student_batch():
    model = build('VanillaKD', teacher_pre=None)
    data, _, seen, _ = run_step(model)
    assert model.teacher_preprocessor is None
    assert torch.equal(seen['teacher'], data['inputs'])


def test_same_statistics_and_no_size_is_the_identity():
    pre = TeacherPreprocessor(S_MEAN, S_STD, mean=S_MEAN, std=S_STD)
    x = torch.randn(2, 3, 8, 8)
    assert pre.is_identity and pre(x) is x
    # an un-normalising student (no mean/std): the teacher normalises raw pixels
    raw = TeacherPreprocessor(None, None, mean=T_MEAN, std=T_STD)
    pixels = torch.rand(2, 3, 4, 4) * 255
    torch.testing.assert_close(raw(pixels), (pixels - 127.5) / 127.5)


def test_no_extra_state_and_pure_student_inference():
    model = build('VanillaKD')
    reference = MODELS.build(dict(type='VanillaKD', student=student_cfg(),
                                  teacher=resnet_cifar_classifier(34, 4)))
    assert set(model.state_dict()) == set(reference.state_dict())  # nothing new to save
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    seen = []
    h = model.teacher.register_forward_pre_hook(lambda m, a: seen.append(1))
    model(x, mode='tensor')
    h.remove()
    assert not seen


@pytest.mark.parametrize('cfg,exc,match', [
    (dict(mean=T_MEAN), ValueError, 'teacher_data_preprocessor: give both mean and std'),
    (dict(mean=T_MEAN, std=[1.0, 0.0, 1.0]), ValueError, r'preprocessor.std must be > 0'),
    (dict(mean=[1.0, 2.0], std=[1.0, 1.0]), ValueError, r'preprocessor.mean has 2 values'),
    (dict(mean='imagenet', std=T_STD), TypeError, r'teacher_data_preprocessor.mean must be a list'),
    (dict(size=0), ValueError, r'teacher_data_preprocessor.size must be a positive int'),
    (dict(size=(224, 224, 3)), ValueError, r'teacher_data_preprocessor.size'),
    (dict(interpolation='lanczos'), ValueError, r'teacher_data_preprocessor.interpolation'),
    (dict(type='ClsDataPreprocessor'), ValueError, r"unknown keys \['type'\]"),
    ([0.5, 0.5], TypeError, 'teacher_data_preprocessor must be a dict'),
])
def test_bad_configs_fail_at_build_naming_the_field(cfg, exc, match):
    with pytest.raises(exc, match=match):
        build('VanillaKD', teacher_pre=cfg)


@pytest.mark.parametrize('teacher_stats,teacher_pre,warns', [
    (dict(mean=T_MEAN, std=T_STD), None, True),          # silently ignored: warn
    (dict(mean=T_MEAN, std=T_STD), dict(mean=T_MEAN, std=T_STD), False),
    (dict(mean=S_MEAN, std=S_STD), None, False),         # the student's own statistics
    (None, None, False),
])
def test_warns_when_the_teachers_own_preprocessor_would_be_ignored(teacher_stats, teacher_pre,
                                                                  warns, monkeypatch):
    from mmstablekd.models.distillers import base
    messages = []
    logger = base.MMLogger.get_current_instance()
    monkeypatch.setattr(logger, 'warning', messages.append)
    teacher = resnet_cifar_classifier(34, 4)
    if teacher_stats is not None:
        teacher['data_preprocessor'] = teacher_stats
    MODELS.build(dict(type='VanillaKD', student=student_cfg(), teacher=teacher,
                      data_preprocessor=dict(mean=S_MEAN, std=S_STD, num_classes=4),
                      teacher_data_preprocessor=teacher_pre))
    ignored = [m for m in messages if 'model.teacher.data_preprocessor' in m]
    assert bool(ignored) == warns, messages
    if warns:
        assert 'model.teacher_data_preprocessor' in ignored[0]
