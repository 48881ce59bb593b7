"""The StableKD semantics of SPEC.md / issue 3, each checked on tiny ResNet_CIFAR pairs."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.registry import MODELS
from conftest import resnet_cifar_classifier

BOUNDARIES = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3', 'backbone.layer4']
# The student's parameters of every block (1-based), for ResNet_CIFAR.
BLOCKS = {1: ('backbone.conv1', 'backbone.bn1', 'backbone.layer1'), 2: ('backbone.layer2',),
          3: ('backbone.layer3',), 4: ('backbone.layer4',), 5: ('neck', 'head')}


def classifier(depth: int, width: int = 8, num_classes: int = 4) -> dict:
    return resnet_cifar_classifier(depth, width, num_classes)


def build(num_recompositions=2, boundaries=BOUNDARIES, student_width=8, **kw):
    torch.manual_seed(0)
    cfg = dict(type='StableKD', student=classifier(18, student_width), teacher=classifier(34),
               boundaries=boundaries, num_recompositions=num_recompositions, **kw)
    model = MODELS.build(cfg)
    model.train()
    return model


def batch(n=4, num_classes=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 32, 32, generator=g)
    labels = torch.randint(0, num_classes, (n, ), generator=g)
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return x, samples, labels


def capture(module, kind='output'):
    store = []
    if kind == 'input':
        handle = module.register_forward_pre_hook(lambda m, args: store.append(args[0]))
    else:
        handle = module.register_forward_hook(lambda m, args, out: store.append(out))
    return store, handle


def test_teacher_runs_once_without_grad_and_stays_frozen():
    model = build()
    x, samples, _ = batch()
    calls, h = capture(model.teacher.backbone.layer1)
    bn = model.teacher.backbone.norm1
    stats = bn.running_mean.clone()
    model.loss(x, samples)
    h.remove()
    assert len(calls) == 1 and not calls[0].requires_grad
    assert not model.teacher.training and model.student.training
    assert all(not p.requires_grad for p in model.teacher.parameters())
    assert torch.equal(bn.running_mean, stats)  # eval mode: BN statistics do not drift


@pytest.mark.parametrize('stage,fed', [(0, [1, 2, 3, 4]), (1, [2, 4]), (2, [4])])
def test_block_after_active_boundary_gets_teacher_output(stage, fed):
    model = build()
    model.set_stage(stage)
    x, samples, _ = batch()
    t_out, s_out, s_in, handles = {}, {}, {}, []
    for i in range(1, 5):
        t_out[i], h1 = capture(model.teacher.backbone.get_submodule(f'layer{i}'))
        s_out[i], h2 = capture(model.student.backbone.get_submodule(f'layer{i}'))
        handles += [h1, h2]
    for i in range(2, 5):
        s_in[i], h = capture(model.student.backbone.get_submodule(f'layer{i}'), 'input')
        handles.append(h)
    head_in, h = capture(model.student.neck, 'input')
    handles.append(h)
    model.loss(x, samples)
    for h in handles:
        h.remove()
    received = {i: s_in[i][0] for i in range(2, 5)}
    received[5] = head_in[0][0]  # the neck receives the backbone's tuple of outputs
    for i in range(2, 6):
        b = i - 1  # boundary in front of block i
        if b in fed:
            assert torch.equal(received[i], t_out[b][0]), f'block {i} should get teacher output'
            assert not received[i].requires_grad
        else:
            assert torch.equal(received[i], s_out[b][0]), f'block {i} should get its own input'
            assert received[i].requires_grad


def test_losses_match_a_manual_decomposed_forward():
    model = build(distill_loss=dict(type='KDLoss', tau=2.0, loss_weight=0.5))
    x, samples, labels = batch()
    losses = model.loss(x, samples)
    assert set(losses) >= {'loss_mse_b1', 'loss_mse_b2', 'loss_mse_b3', 'loss_mse_b4',
                           'loss_cls', 'loss_kd'}
    t, s = model.teacher.backbone, model.student.backbone
    with torch.no_grad():
        feats = [F.relu(t.norm1(t.conv1(x)))]
        for i in range(1, 5):
            feats.append(t.get_submodule(f'layer{i}')(feats[-1]))
        t_logits = model.teacher.head.fc(feats[-1].mean((2, 3)))
        s_in = F.relu(s.norm1(s.conv1(x)))
        for i in range(1, 5):
            s_out = s.get_submodule(f'layer{i}')(s_in if i == 1 else feats[i - 1])
            assert torch.allclose(losses[f'loss_mse_b{i}'], F.mse_loss(s_out, feats[i]))
        s_logits = model.student.head.fc(feats[4].mean((2, 3)))
    assert torch.allclose(losses['loss_cls'], F.cross_entropy(s_logits, labels), atol=1e-6)
    kl = F.kl_div(F.log_softmax(s_logits / 2, 1), F.softmax(t_logits / 2, 1),
                  reduction='batchmean')
    assert torch.allclose(losses['loss_kd'], 0.5 * 4 * kl, atol=1e-6)


def touched_blocks(model, loss):
    named = [(n, p) for n, p in model.student.named_parameters()]
    grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True,
                                retain_graph=True)
    blocks = set()
    for (name, _), g in zip(named, grads):
        owner = {b for b, prefixes in BLOCKS.items()
                 if any(name.startswith(p + '.') for p in prefixes)}
        assert len(owner) == 1, f'{name} belongs to no block (or to several)'
        if g is not None and g.abs().sum() > 0:
            blocks |= owner
    return blocks


@pytest.mark.parametrize('stage,expected', [
    (0, {'loss_mse_b1': {1}, 'loss_mse_b2': {2}, 'loss_mse_b3': {3}, 'loss_mse_b4': {4},
         'loss_cls': {5}, 'loss_kd': {5}}),
    (1, {'loss_mse_b2': {1, 2}, 'loss_mse_b4': {3, 4}, 'loss_cls': {5}, 'loss_kd': {5}}),
    (2, {'loss_mse_b4': {1, 2, 3, 4}, 'loss_cls': {5}, 'loss_kd': {5}}),
])
def test_each_loss_term_touches_exactly_one_group(stage, expected):
    model = build(num_recompositions=3)
    model.set_stage(stage)
    x, samples, _ = batch()
    losses = {k: v for k, v in model.loss(x, samples).items() if k.startswith('loss')}
    assert set(losses) == set(expected)
    for name, blocks in expected.items():
        assert touched_blocks(model, losses[name]) == blocks, name


def test_last_stage_of_5_3_is_vanilla_kd():
    model = build(num_recompositions=3)
    model.set_stage(3)
    x, samples, _ = batch()
    losses = model.loss(x, samples)
    assert sorted(k for k in losses if k.startswith('loss')) == ['loss_cls', 'loss_kd']
    assert touched_blocks(model, losses['loss_cls'] + losses['loss_kd']) == {1, 2, 3, 4, 5}
    assert model.partition_str() == '{12345}'


def test_validation_runs_the_pure_student():
    model = build()
    x, samples, _ = batch()
    model.loss(x, samples)  # a distillation step must leave no replaced inputs behind
    plain = MODELS.build(classifier(18))
    plain.load_state_dict(model.student.state_dict())
    model.eval()
    plain.eval()
    with torch.no_grad():
        preds = model(x, copy.deepcopy(samples), mode='predict')
        expected = plain(x, copy.deepcopy(samples), mode='predict')
        assert torch.equal(model(x, mode='tensor'), plain(x, mode='tensor'))
    for p, e in zip(preds, expected):
        assert torch.equal(p.pred_score, e.pred_score)


def test_width_mismatch_is_a_build_time_error():
    with pytest.raises(ValueError, match=r"boundary 0 .*backbone.layer1.*student width 4 != "
                                         r'teacher width 8.*model.projectors=True'):
        build(student_width=4)


def test_projectors_bridge_widths_and_train():
    model = build(student_width=4, projectors=True)
    assert sorted(model.projectors) == ['0', '1', '2', '3']
    x, samples, _ = batch()
    losses = model.loss(x, samples)
    # the projector that widens the student's output only feeds that boundary's MSE
    named = dict(model.named_parameters())
    g = torch.autograd.grad(losses['loss_mse_b2'], [named['projectors.1.to_teacher.weight'],
                                                    named['projectors.0.from_teacher.weight']])
    assert g[0].abs().sum() > 0 and g[1].abs().sum() > 0
    assert all(not k.startswith('student.') for k in model.projectors.state_dict())


@pytest.mark.parametrize('bad,match', [
    (dict(boundaries=['backbone.layer1', 'backbone.layer9']),
     r"model.boundaries\[1\]='backbone.layer9'.*has no child 'layer9'"),
    (dict(boundaries=['backbone.layer2', 'backbone.layer1']), 'forward order'),
    (dict(num_recompositions=4), 'model.num_recompositions.*must be in \\[0, 3\\]'),
    (dict(teacher_boundaries=['backbone.layer1']), 'model.teacher_boundaries has 1 entries'),
    (dict(stage_epochs=[1, 2]), 'model.stage_epochs'),
])
def test_bad_configs_fail_at_build_naming_the_field(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build(**bad)


def test_missing_teacher_ckpt_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='model.teacher_ckpt='):
        build(teacher_ckpt=str(tmp_path / 'nope.pth'))


def test_default_boundaries_are_the_resnet_stages():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='StableKD', student=classifier(18), teacher=classifier(34)))
    assert model.boundaries == BOUNDARIES and model.teacher_boundaries == BOUNDARIES
    assert model.num_blocks == 5 and model.partition_str(2) == '{1234}{5}'
