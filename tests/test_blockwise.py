"""Block-wise distillers (StableKD, SSKD) on any MMPretrain backbone: default boundaries,
the cut check, refused boundaries, list_boundaries and multi-logit heads."""
import pytest
import torch
from mmpretrain.structures import DataSample

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.models.distillers.base import logit_loss
from mmstablekd.models.losses import KDLoss
from mmstablekd.models.utils.boundary_listing import list_boundaries
from mmstablekd.models.utils.cuts import trace_forward
from mmstablekd.models.utils.default_boundaries import default_boundaries
from mmstablekd.registry import MODELS
from conftest import load_tool

NUM_CLASSES = 4
# Narrow members of each family (a few thousand to a few hundred thousand parameters), at
# the input size each accepts; outputs of the default boundaries are checked below.
FAMILIES = {
    'ResNet': (dict(type='ResNet', depth=18, stem_channels=8, base_channels=8), 32),
    'MobileNetV2': (dict(type='MobileNetV2', widen_factor=0.25), 32),
    'MobileNetV3': (dict(type='MobileNetV3', arch='small'), 32),
    'ConvNeXt': (dict(type='ConvNeXt', arch=dict(depths=[1, 1, 2, 1], channels=[8, 16, 24, 32]),
                      drop_path_rate=0.0), 32),
    'EfficientNet': (dict(type='EfficientNet', arch='b0'), 32),
    'RegNet': (dict(type='RegNet', arch=dict(w0=8, wa=8.0, wm=2.0, group_w=8, depth=6,
                                             bot_mul=1.0), stem_channels=8), 32),
    'ShuffleNetV2': (dict(type='ShuffleNetV2', widen_factor=0.5), 32),
    'Swin': (dict(type='SwinTransformer', arch=dict(embed_dims=16, depths=[1, 1, 2, 1],
                                                    num_heads=[1, 2, 2, 4]),
                  img_size=32, patch_size=4, window_size=2, pad_small_map=True,
                  drop_path_rate=0.0), 32),
    'ViT': (dict(type='VisionTransformer', arch=dict(embed_dims=16, num_layers=8, num_heads=2,
                                                     feedforward_channels=32),
                 img_size=32, patch_size=8, drop_path_rate=0.0), 32),
    'RepVGG': (dict(type='RepVGG', arch=dict(num_blocks=[1, 1, 2, 1], width_factor=[0.25] * 4,
                                             group_layer_map=None, se_cfg=None)), 32),
    'DenseNet': (dict(type='DenseNet', arch=dict(growth_rate=4, depths=[1, 1, 2, 1],
                                                 init_channels=8)), 32),
    'PoolFormer': (dict(type='PoolFormer', arch=dict(layers=[1, 1, 1, 1],
                                                     embed_dims=[8, 16, 24, 32],
                                                     mlp_ratios=[2, 2, 2, 2],
                                                     layer_scale_init_value=1e-5)), 32),
    'HRNet': (dict(type='HRNet', extra=dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                    num_channels=(8, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                    num_channels=(8, 16)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                    num_channels=(8, 16, 32)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                    num_channels=(8, 16, 32, 64)))), 32),
}
_CLASSIFIERS = {}


def classifier(family: str) -> dict:
    """An ImageClassifier config around the family's backbone (head width from a dry run)."""
    if family not in _CLASSIFIERS:
        backbone, size = FAMILIES[family]
        net = MODELS.build(backbone)
        net.eval()  # (some backbones' train() returns None)
        out = net(torch.zeros(1, 3, size, size))[-1]
        out = out[-1] if isinstance(out, (tuple, list)) else out
        neck = dict(type='GlobalAveragePooling') if out.dim() == 4 else None
        _CLASSIFIERS[family] = dict(
            type='ImageClassifier', backbone=backbone, neck=neck,
            head=dict(type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=out.shape[1],
                      loss=dict(type='CrossEntropyLoss')))
    return _CLASSIFIERS[family]


def batch(size: int = 32, n: int = 2, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g)
    labels = torch.randint(0, NUM_CLASSES, (n, ), generator=g)
    return x, [DataSample().set_gt_label(int(y)) for y in labels]


def build(method: str, student: dict, teacher: dict = None, **kw):
    torch.manual_seed(0)
    return MODELS.build(dict(type=method, student=student, teacher=teacher or student, **kw))


def param_phases(model) -> dict:
    """Student parameter name -> number of boundaries that ended before its module ran."""
    trace = trace_forward(model.student, model.probe_shape)
    phase = trace.phases(model.boundaries, 'model.boundaries')
    return {f'{n}.{pn}': phase[m] for n, m in model.student.named_modules() if m in phase
            for pn, _ in m.named_parameters(recurse=False)}


def upstream_params(model, boundary: int):
    """Student parameters of the modules that run before boundary ``boundary`` ends."""
    params = dict(model.student.named_parameters())
    return [params[n] for n, ph in param_phases(model).items()
            if ph <= boundary and params[n].requires_grad]


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_stablekd_defaults_train_and_cut_every_boundary(family):
    """Default boundaries build, one step trains, and no loss of a later block sends gradient
    across an active boundary (stage 0: every boundary active)."""
    model = build('StableKD', classifier(family), num_recompositions=1)
    assert 2 <= len(model.boundaries) <= 6, model.boundaries
    model.train()
    losses = model.loss(*batch(FAMILIES[family][1]))
    assert all(torch.isfinite(v) for k, v in losses.items() if k.startswith('loss'))
    params = dict(model.student.named_parameters())
    name_of = {id(p): n for n, p in params.items()}
    for b in range(len(model.boundaries)):
        upstream = upstream_params(model, b)
        later = [v for k, v in losses.items()
                 if k in ('loss_cls', 'loss_kd') or
                 (k.startswith('loss_mse_b') and int(k[len('loss_mse_b'):]) > b + 1)]
        grads = torch.autograd.grad(sum(later), upstream, allow_unused=True, retain_graph=True)
        leaked = [name_of[id(p)] for p, g in zip(upstream, grads)
                  if g is not None and g.abs().sum() > 0]
        assert not leaked, f'gradient crosses {model.boundaries[b]}: {leaked[:3]}'
    assert any(g is not None for g in torch.autograd.grad(
        losses['loss_mse_b1'], upstream_params(model, 0), allow_unused=True))


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_sskd_defaults_train_one_stage(family):
    """SSKD with default boundaries: the first stage learns, everything else stays put."""
    model = build('SSKD', classifier(family))
    model.set_stage(0)
    model.train()
    before = {k: v.detach().clone() for k, v in model.student.state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss = model.loss(*batch(FAMILIES[family][1]))['loss_stage1']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    opt.step()
    after = model.student.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed
    later = [n for n, ph in param_phases(model).items() if ph > 0]
    assert later and not [n for n in later if n in changed]
    assert not any(k.startswith('head.') for k in changed)


def test_resnet_defaults_are_its_stages():
    model = build('StableKD', classifier('ResNet'))
    assert model.boundaries == [f'backbone.layer{i}' for i in range(1, 5)]


def test_vit_defaults_are_equal_groups_of_blocks():
    net = MODELS.build(classifier('ViT'))
    trace = trace_forward(net, (3, 32, 32))
    assert default_boundaries(net, 'model.boundaries', trace) == [
        'backbone.layers.1', 'backbone.layers.3', 'backbone.layers.5', 'backbone.layers.7']


def test_mobilenetv2_defaults_one_per_resolution():
    net = MODELS.build(classifier('MobileNetV2'))
    trace = trace_forward(net, (3, 32, 32))
    picked = default_boundaries(net, 'model.boundaries', trace)
    sizes = [trace.call(p).shape[-1] for p in picked]
    assert sizes == sorted(set(sizes), reverse=True)  # one per resolution, shrinking
    assert picked[-1] == 'backbone.conv2'


@pytest.mark.parametrize('method', ['StableKD', 'SSKD'])
def test_non_cut_boundary_is_refused_with_bypass_and_nearest_cuts(method):
    with pytest.raises(ValueError) as info:
        build(method, classifier('ResNet'), boundaries=['backbone.layer1.0.conv1'])
    msg = str(info.value)
    assert "model.boundaries[0]='backbone.layer1.0.conv1' is not a cut" in msg
    assert "through 'backbone.layer1.0' (BasicBlock)" in msg
    assert "'backbone.maxpool' -> (2,8,8,8)" in msg and "'backbone.layer1.0' -> (2,8,8,8)" in msg
    assert 'tools/list_boundaries.py' in msg


@pytest.mark.parametrize('method', ['StableKD', 'SSKD'])
def test_valid_user_paths_still_work(method):
    model = build(method, classifier('ResNet'),
                  boundaries=['backbone.layer1.0', 'backbone.layer3'])
    assert model.boundaries == ['backbone.layer1.0', 'backbone.layer3']
    losses = model.loss(*batch())
    assert all(torch.isfinite(v) for k, v in losses.items() if k.startswith('loss'))


@pytest.mark.parametrize('method', ['StableKD', 'SSKD'])
@pytest.mark.parametrize('paths,match', [
    (['backbone.layer1', 'backbone.layer1'], r"model.boundaries\[1\]='backbone.layer1' is a "
                                             r"duplicate of model.boundaries\[0\]"),
    (['backbone.layer1.0.relu'], r"model.boundaries\[0\]='backbone.layer1.0.relu' runs 2 times "
                                 'per forward pass'),
])
def test_duplicate_and_reused_boundaries_are_refused(method, paths, match):
    with pytest.raises(ValueError, match=match):
        build(method, classifier('ResNet'), boundaries=paths)


def test_probe_failure_names_probe_input_shape():
    with pytest.raises(ValueError, match=r'model.probe_input_shape=\(C, H, W\)'):
        build('StableKD', classifier('ResNet'), probe_input_shape=(1, 32, 32))


def test_probe_defaults_to_the_backbones_img_size():
    """A Swin built for 64x64 with window 4 refuses 32x32 (window assertion) but is probed at
    its own img_size without any setting."""
    swin = dict(classifier('Swin'))
    swin['backbone'] = dict(swin['backbone'], img_size=64, window_size=4, pad_small_map=False)
    model = build('SSKD', swin)
    assert len(model.boundaries) == 4


def test_cross_family_teacher_is_matched_by_stride():
    """A MobileNetV2 teacher (5 default boundaries) for a ResNet student (4): stride-matched
    pairs, projectors bridging the widths."""
    model = build('StableKD', classifier('ResNet'), classifier('MobileNetV2'), projectors=True)
    assert model.boundaries == [f'backbone.layer{i}' for i in range(1, 5)]
    assert len(model.teacher_boundaries) == 4
    model.train()
    losses = model.loss(*batch())
    assert sorted(k for k in losses if k.startswith('loss_mse')) == [
        f'loss_mse_b{i}' for i in range(1, 5)]


def test_logit_loss_averages_over_several_head_outputs():
    kd = KDLoss(tau=1.0)
    s = (torch.randn(2, 4), torch.randn(2, 4))
    t = (torch.randn(2, 4), torch.randn(2, 4))
    expected = (kd(s[0], t[0]) + kd(s[1], t[1])) / 2
    assert torch.allclose(logit_loss(kd, s, t), expected)
    assert torch.allclose(logit_loss(kd, s, t[0]), (kd(s[0], t[0]) + kd(s[1], t[0])) / 2)


def test_levit_distillation_head_is_refused():
    student = dict(type='ImageClassifier',
                   backbone=dict(type='LeViT', arch='128s', img_size=64),
                   neck=dict(type='GlobalAveragePooling', dim=1),
                   head=dict(type='LeViTClsHead', num_classes=4, in_channels=384,
                             distillation=True))
    with pytest.raises(ValueError, match='model.student.head: LeViTClsHead'):
        MODELS.build(dict(type='VanillaKD', student=student, teacher=student))


def test_list_boundaries_marks_defaults_and_config_paths(tmp_path, capsys):
    net = MODELS.build(classifier('ConvNeXt'))
    table = list_boundaries(net, 'student', (3, 32, 32), given=['backbone.stages.1'])
    lines = table.splitlines()
    row = next(line for line in lines if line.split()[0] == 'backbone.stages.1')
    assert '(2,16,4,4)' in row and 'default, config' in row
    assert "default boundaries: ['backbone.stages.0'" in table
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f'model = {classifier("ResNet")!r}\n')
    load_tool('list_boundaries').main([str(cfg), '--probe-input-shape', '3', '32', '32'])
    out = capsys.readouterr().out
    assert 'backbone.layer4' in out and 'default' in out
