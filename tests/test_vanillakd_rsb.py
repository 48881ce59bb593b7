"""VanillaKD on mmpretrain's RSB recipes: configs swap only ``model``; the BCE hard-label loss
on Mixup/CutMix targets and the KL on raw logits work together; the binary KL option."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.structures import DataSample

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.models.losses import KDLoss
from mmstablekd.registry import MODELS
from conftest import REPO, resnet_cifar_classifier

CONFIGS = {
    'resnet50_r152_rsb-a2-300e_in1k': 'resnet50_8xb256-rsb-a2-300e_in1k',
    'resnet50_beitv2-l_rsb-a2-300e_in1k': 'resnet50_8xb256-rsb-a2-300e_in1k',
    'resnet50_r152_rsb-a1-600e_in1k': 'resnet50_8xb256-rsb-a1-600e_in1k',
    'resnet50_beitv2-l_rsb-a1-600e_in1k': 'resnet50_8xb256-rsb-a1-600e_in1k',
}
RUN_MANAGEMENT = ('custom_hooks', 'work_dir', 'custom_imports')
HELPERS = ('teacher', 'student', '_student',  # config-level variables that build `model`
           'vkd_bce_loss_weight', 'vkd_model', 'vkd_default_hooks', 'vkd_custom_hooks')


def mmpretrain_cfg(name: str, tmp_path) -> dict:
    path = tmp_path / 'base.py'
    path.write_text(f"_base_ = 'mmpretrain::resnet/{name}.py'\n")
    return Config.fromfile(str(path)).to_dict()


@pytest.mark.parametrize('stem', sorted(CONFIGS))
def test_config_swaps_only_the_model(stem, tmp_path):
    cfg = Config.fromfile(str(REPO / 'configs' / 'kd' / f'{stem}.py')).to_dict()
    base = mmpretrain_cfg(CONFIGS[stem], tmp_path)
    model = cfg.pop('model')
    student = base.pop('model')
    # The one change to the recipe's model: BCE averaged over the 1000 classes, as in timm.
    student['head']['loss']['loss_weight'] = 1e-3
    assert model['type'] == 'VanillaKD' and model['student'] == student
    for key in HELPERS:
        cfg.pop(key, None)
    assert (model['alpha'], model['tau']) == (0.5, 1.0)
    assert cfg['default_hooks']['checkpoint']['max_keep_ckpts'] == 3
    assert cfg['work_dir'] == f'./work_dirs/kd_{stem}'
    assert cfg['custom_hooks'] == [dict(type='StudentCheckpointHook')]
    base['default_hooks']['checkpoint'].update(interval=1, max_keep_ckpts=3)
    guards = {k: cfg['default_hooks'].pop(k)['type']
              for k in ('nonfinite_guard', 'work_dir_lock', 'resume_state')}
    assert guards == dict(nonfinite_guard='NonFiniteGuardHook', work_dir_lock='WorkDirLockHook',
                          resume_state='ResumeStateHook')  # run management, not recipe
    for key in RUN_MANAGEMENT:
        cfg.pop(key, None)
        base.pop(key, None)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        # the one data change: LocalImageNet (mmpretrain's ImageNet that says what to do when
        # the data is missing; mmstablekd/datasets/local_data.py)
        assert (base[loader]['dataset']['type'], cfg[loader]['dataset']['type']) == \
            ('ImageNet', 'LocalImageNet')
        cfg[loader]['dataset']['type'] = 'ImageNet'
    assert cfg == base  # data, augments, LAMB schedule, runtime: mmpretrain's RSB recipe
    assert model['student']['head']['loss']['use_sigmoid'] is True  # the BCE hard-label loss
    assert '://' not in model['teacher_ckpt']  # nothing downloaded at run time


@pytest.mark.parametrize('stem', sorted(CONFIGS))
def test_teacher_preprocessing_is_the_timm_pretrained_cfg(stem):
    from timm.models import get_pretrained_cfg
    cfg = Config.fromfile(str(REPO / 'configs' / 'kd' / f'{stem}.py'))
    teacher = cfg.model.teacher
    assert teacher.type == 'TimmClassifier' and teacher.pretrained is False
    pretrained = get_pretrained_cfg(teacher.model_name)
    assert pretrained is not None, teacher.model_name
    pre = cfg.model.teacher_data_preprocessor
    assert pre.mean == pytest.approx([255 * m for m in pretrained.mean])
    assert pre.std == pytest.approx([255 * s for s in pretrained.std])
    assert tuple(pretrained.input_size[1:]) == (224, 224) and 'size' not in pre
    assert cfg.data_preprocessor.to_rgb  # timm teachers take RGB, like the student's batch


def rsb_distiller(alpha=0.5, kd_mode='kl'):
    """The A2 config's VanillaKD, with small networks (same head loss, augments, preprocessor)."""
    cfg = Config.fromfile(str(REPO / 'configs' / 'kd' / 'resnet50_r152_rsb-a2-300e_in1k.py'))
    student = cfg.model.student.to_dict()
    student['backbone'] = dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                               base_channels=8, out_indices=(3, ))
    student['head']['in_channels'] = 64
    teacher = dict(cfg.model.teacher.to_dict(), model_name='resnet10t')
    torch.manual_seed(0)
    model = MODELS.build(dict(cfg.model.to_dict(), student=student, teacher=teacher,
                              teacher_ckpt=None, alpha=alpha, kd_mode=kd_mode,
                              data_preprocessor=cfg.data_preprocessor.to_dict()))
    return model.train()


def test_bce_on_mixed_targets_and_kl_on_the_teachers_view_of_the_same_images():
    model = rsb_distiller()
    augments = [type(a).__name__ for a in model.data_preprocessor.batch_augments.augments]
    assert augments == ['Mixup', 'CutMix']
    g = torch.Generator().manual_seed(0)
    raw = dict(inputs=torch.randint(0, 256, (8, 3, 32, 32), generator=g, dtype=torch.uint8),
               data_samples=[DataSample().set_gt_label(i * 97) for i in range(8)])
    seen = {}
    hooks = [model.student.backbone.register_forward_pre_hook(
                 lambda m, a: seen.setdefault('student_in', a[0].clone())),
             model.teacher.register_forward_pre_hook(
                 lambda m, a: seen.setdefault('teacher_in', a[0].clone())),
             model.teacher.register_forward_hook(
                 lambda m, a, out: seen.setdefault('teacher_logits', out.clone())),
             model.student.head.fc.register_forward_hook(
                 lambda m, a, out: seen.setdefault('student_logits', out.clone()))]
    torch.manual_seed(1)
    data = model.data_preprocessor(raw, training=True)
    losses = model(**data, mode='loss')
    for h in hooks:
        h.remove()

    scores = torch.stack([s.gt_score for s in data['data_samples']])
    assert scores.shape == (8, 1000) and ((scores > 0) & (scores < 1)).any()  # mixed targets
    assert torch.equal(seen['student_in'], data['inputs'])
    # Same statistics: the teacher gets exactly the student's mixed batch.
    assert model.teacher_preprocessor.is_identity
    assert torch.equal(seen['teacher_in'], data['inputs'])
    s, t = seen['student_logits'], seen['teacher_logits']
    # mmpretrain's head: BCE summed over classes, mean over the batch; x 1e-3 in the config =
    # the element mean of timm's BinaryCrossEntropy (the authors' loss), then x (1 - alpha).
    bce = F.binary_cross_entropy_with_logits(s, scores)  # mean over N x C
    torch.testing.assert_close(losses['loss_cls'], 0.5 * bce, rtol=1e-4, atol=1e-7)
    kl = (F.softmax(t, 1) * (F.log_softmax(t, 1) - F.log_softmax(s, 1))).sum(1).mean()
    torch.testing.assert_close(losses['loss_kd'], 0.5 * kl)


def reference_bkl(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """VanillaKD eq. 3, written out (float64): p = softmax(t), q = sigmoid(s)."""
    p, q = F.softmax(t.double(), 1), torch.sigmoid(s.double())
    return (p * torch.log(p / q) + (1 - p) * torch.log((1 - p) / (1 - q))).sum(1).mean()


def released_bkd(z_s: torch.Tensor, z_t: torch.Tensor) -> torch.Tensor:
    """Transcription of Hao840/vanillaKD losses/bkd.py, BinaryKLDiv.forward: BCE-with-logits
    against the teacher's softmax, PyTorch's default mean over all N x C elements."""
    return F.binary_cross_entropy_with_logits(z_s, z_t.softmax(1))


def teacher_binary_entropy(z_t: torch.Tensor) -> torch.Tensor:
    """Mean over N x C of the teacher's Bernoulli entropies (the constant between BCE and KL)."""
    p = z_t.softmax(1)
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p)).mean()


@pytest.mark.parametrize('tau', [1.0, 2.0])
def test_binary_kl_sum_is_eq3(tau):
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(5, 7, generator=g) * 3, torch.randn(5, 7, generator=g) * 3
    loss = KDLoss(tau=tau, loss_weight=0.5, mode='binary_kl', binary_reduction='sum')(s, t)
    expected = 0.5 * tau**2 * reference_bkl(s / tau, t / tau)
    torch.testing.assert_close(loss.double(), expected, rtol=1e-5, atol=1e-6)
    mean = KDLoss(tau=tau, loss_weight=0.5, mode='binary_kl')(s, t)
    torch.testing.assert_close(mean.double(), expected / 7, rtol=1e-5, atol=1e-6)
    # zero when the student's sigmoids equal the teacher's softmax probabilities
    p = F.softmax(t, 1)
    zero = KDLoss(mode='binary_kl')(torch.logit(p.double()).float(), t)
    assert abs(zero.item()) < 1e-6
    assert KDLoss(mode='kl')(s, t).item() != pytest.approx(loss.item())


def test_binary_kl_default_is_the_released_bkd():
    """Same gradient as the released BinaryKLDiv (value: minus the teacher's entropy)."""
    g = torch.Generator().manual_seed(3)
    s = (torch.randn(6, 1000, generator=g) * 4).requires_grad_()
    t = torch.randn(6, 1000, generator=g) * 4
    ours = KDLoss(mode='binary_kl')(s, t)
    (grad,) = torch.autograd.grad(ours, s)
    s_ref = s.detach().clone().requires_grad_()
    ref = released_bkd(s_ref, t)
    ref.backward()
    torch.testing.assert_close(grad, s_ref.grad, rtol=1e-5, atol=1e-12)
    torch.testing.assert_close(ours, ref.detach() - teacher_binary_entropy(t),
                               rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match='binary_reduction must be one of'):
        KDLoss(mode='binary_kl', binary_reduction='batchmean')


def test_vanillakd_binary_kl_keeps_the_released_gradient_balance():
    """The A2 config with kd_mode=binary_kl: loss_cls and loss_kd have the gradients (w.r.t.
    the student logits) of the released 0.5 * BCE-mean + 0.5 * BinaryKLDiv, i.e. 1 : 1."""
    model = rsb_distiller(kd_mode='binary_kl')
    assert model.distill_loss.mode == 'binary_kl'
    raw = dict(inputs=torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8),
               data_samples=[DataSample().set_gt_label(i) for i in range(4)])
    data = model.data_preprocessor(raw, training=True)  # Mixup/CutMix scores for the BCE
    seen = {}

    def keep(module, args, out):
        out.retain_grad()
        seen['s'] = out

    hooks = [model.student.head.fc.register_forward_hook(keep),
             model.teacher.register_forward_hook(lambda m, a, out: seen.setdefault('t', out))]
    losses = model.loss(data['inputs'], data['data_samples'])
    for h in hooks:
        h.remove()
    s, t = seen['s'], seen['t'].detach()
    scores = torch.stack([d.gt_score for d in data['data_samples']])
    grads = {}
    for key in ('loss_cls', 'loss_kd'):
        s.grad = None
        losses[key].backward(retain_graph=True)
        grads[key] = s.grad.clone()
    ref = s.detach().clone().requires_grad_()
    released = {'loss_cls': 0.5 * F.binary_cross_entropy_with_logits(ref, scores),
                'loss_kd': 0.5 * released_bkd(ref, t)}
    for key, value in released.items():
        (expected,) = torch.autograd.grad(value, ref)
        torch.testing.assert_close(grads[key], expected, rtol=1e-4, atol=1e-10)
    with pytest.raises(ValueError, match="model.kd_mode must be 'kl' or 'binary_kl'"):
        rsb_distiller(kd_mode='bkl')
    with pytest.raises(ValueError, match='KDLoss: mode must be one of'):
        KDLoss(mode='binary')


def test_a_plain_timm_state_dict_loads_strictly_as_the_teacher(tmp_path):
    """What the configs' comments tell users to write: timm's own ``state_dict()``."""
    import timm
    torch.manual_seed(0)
    weights = timm.create_model('resnet10t', pretrained=False).state_dict()
    torch.save(weights, tmp_path / 'resnet10t.pth')
    cfg = Config.fromfile(str(REPO / 'configs' / 'kd' / 'resnet50_r152_rsb-a2-300e_in1k.py'))
    model = MODELS.build(dict(
        type='VanillaKD', student=resnet_cifar_classifier(18, 4, 1000),
        teacher=dict(cfg.model.teacher.to_dict(), model_name='resnet10t'),
        teacher_ckpt=str(tmp_path / 'resnet10t.pth')))
    loaded = model.teacher.model.state_dict()
    assert set(loaded) == set(weights)
    assert all(torch.equal(loaded[k], v) for k, v in weights.items())
