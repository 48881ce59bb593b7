"""StableKD's semantics beyond ResNet_CIFAR: Swin, ViT, timm, ResNeXt and Wide ResNet.

For tiny-width versions of every architecture and every training stage of StableKD-k/n:

* the student block after an *active* boundary receives the teacher's boundary output bit for
  bit (or its 1x1 projection when widths differ), without grad; after an inactive boundary
  it receives the student's own output;
* every loss term has non-zero gradient exactly on the student parameters of one block group
  (``torch.autograd.grad`` term by term), and every student parameter belongs to a block.
"""
import pytest
import torch
from mmpretrain.structures import DataSample

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.registry import MODELS
from mmstablekd.utils.stages import groups_of

NUM_CLASSES = 4


def classifier(backbone: dict, in_channels: int, head: str = 'LinearClsHead',
               neck: bool = True) -> dict:
    return dict(type='ImageClassifier', backbone=backbone,
                neck=dict(type='GlobalAveragePooling') if neck else None,
                head=dict(type=head, num_classes=NUM_CLASSES, in_channels=in_channels,
                          loss=dict(type='CrossEntropyLoss')))


def swin(depths, dims=16):
    return classifier(dict(type='SwinTransformer', img_size=32, patch_size=2, window_size=2,
                           drop_path_rate=0.0,
                           arch=dict(embed_dims=dims, depths=depths, num_heads=[1, 2, 2, 4])),
                      8 * dims)


def vit(layers):
    return classifier(dict(type='VisionTransformer', img_size=32, patch_size=8,
                           arch=dict(embed_dims=16, num_layers=layers, num_heads=2,
                                     feedforward_channels=32)),
                      16, head='VisionTransformerClsHead', neck=False)


def timm_resnet(name):
    return classifier(dict(type='TIMMBackbone', model_name=name, pretrained=False,
                           channels=(8, 16, 32, 64), stem_width=8), 64)


def resnext(depth):
    return classifier(dict(type='ResNeXt', depth=depth, groups=2, width_per_group=32,
                           stem_channels=8, base_channels=8), 256)


def wrn(k):
    return classifier(dict(type='WideResNet_CIFAR', depth=10, widen_factor=k), 64 * k)


SWIN_BLOCKS = {1: ['backbone.patch_embed', 'backbone.stages.0.blocks'],
               2: ['backbone.stages.0.downsample', 'backbone.stages.1.blocks'],
               3: ['backbone.stages.1.downsample', 'backbone.stages.2.blocks'],
               4: ['backbone.stages.2.downsample', 'backbone.stages.3.blocks'],
               5: ['backbone.norm3', 'neck', 'head']}
RESNET_BLOCKS = {1: ['backbone.conv1', 'backbone.bn1', 'backbone.layer1'],
                 2: ['backbone.layer2'], 3: ['backbone.layer3'], 4: ['backbone.layer4'],
                 5: ['neck', 'head']}

# boundaries: student module paths; consumers: the module whose first input is what the block
# after each boundary receives; blocks: student (and projector) parameter prefixes per block.
SPECS = {
    'swin': dict(  # Swin-T-like student (2-2-2-2) <- Swin-S-like teacher (2-2-6-2)
        student=swin([2, 2, 2, 2]), teacher=swin([2, 2, 6, 2]),
        boundaries=[f'backbone.stages.{i}' for i in range(4)],
        consumers=['backbone.stages.0.downsample', 'backbone.stages.1.downsample',
                   'backbone.stages.2.downsample', 'backbone.norm3'],
        blocks=SWIN_BLOCKS),
    'swin_projectors': dict(  # widths 16 vs 24: Linear projectors inside (x, hw_shape)
        student=swin([2, 2, 2, 2]), teacher=swin([2, 2, 2, 2], dims=24), projectors=True,
        boundaries=[f'backbone.stages.{i}' for i in range(4)],
        consumers=['backbone.stages.0.downsample', 'backbone.stages.1.downsample',
                   'backbone.stages.2.downsample', 'backbone.norm3'],
        blocks={b: SWIN_BLOCKS[b] + ([f'projectors.{b - 2}.from_teacher'] if b > 1 else [])
                for b in SWIN_BLOCKS},
        extra_blocks={f'projectors.{i}.to_teacher': i + 1 for i in range(4)}),
    'vit': dict(  # depth-4 student <- depth-8 teacher (ViT-S/8 <- ViT-S/16 by depth)
        student=vit(4), teacher=vit(8),
        boundaries=[f'backbone.layers.{i}' for i in range(4)],
        teacher_boundaries=[f'backbone.layers.{i}' for i in (1, 3, 5, 7)],
        consumers=['backbone.layers.1', 'backbone.layers.2', 'backbone.layers.3',
                   'backbone.ln1'],
        blocks={1: ['backbone.patch_embed', 'backbone.cls_token', 'backbone.pos_embed',
                    'backbone.layers.0'],
                2: ['backbone.layers.1'], 3: ['backbone.layers.2'], 4: ['backbone.layers.3'],
                5: ['backbone.ln1', 'head']}),
    'timm': dict(  # timm resnet18 <- resnet34 through mmpretrain's TIMMBackbone
        student=timm_resnet('resnet18'), teacher=timm_resnet('resnet34'),
        boundaries=[f'backbone.timm_model.layer{i}' for i in range(1, 5)],
        consumers=['backbone.timm_model.layer2', 'backbone.timm_model.layer3',
                   'backbone.timm_model.layer4', 'neck'],
        blocks={1: ['backbone.timm_model.conv1', 'backbone.timm_model.bn1',
                    'backbone.timm_model.layer1'],
                2: ['backbone.timm_model.layer2'], 3: ['backbone.timm_model.layer3'],
                4: ['backbone.timm_model.layer4'], 5: ['neck', 'head']}),
    'resnext': dict(
        student=resnext(50), teacher=resnext(101),
        boundaries=[f'backbone.layer{i}' for i in range(1, 5)],
        consumers=['backbone.layer2', 'backbone.layer3', 'backbone.layer4', 'neck'],
        blocks=RESNET_BLOCKS),
    'wrn_projectors': dict(  # WRN10-1 <- WRN10-2: Conv2d projectors at every group
        student=wrn(1), teacher=wrn(2), projectors=True,
        boundaries=['backbone.layer1', 'backbone.layer2', 'backbone.layer3'],
        consumers=['backbone.layer2', 'backbone.layer3', 'backbone.norm_out'],
        blocks={1: ['backbone.conv1', 'backbone.layer1'],
                2: ['backbone.layer2', 'projectors.0.from_teacher'],
                3: ['backbone.layer3', 'projectors.1.from_teacher'],
                4: ['backbone.norm_out', 'neck', 'head', 'projectors.2.from_teacher']},
        extra_blocks={f'projectors.{i}.to_teacher': i + 1 for i in range(3)}),
}

_MODELS = {}


def build(name: str):
    """Build (once per session) the StableKD model of ``SPECS[name]`` with max recompositions."""
    if name not in _MODELS:
        spec = SPECS[name]
        torch.manual_seed(0)
        num_blocks = len(spec['boundaries']) + 1
        model = MODELS.build(dict(
            type='StableKD', student=spec['student'], teacher=spec['teacher'],
            boundaries=spec['boundaries'], teacher_boundaries=spec.get('teacher_boundaries'),
            num_recompositions={5: 3, 4: 2}[num_blocks],
            projectors=spec.get('projectors', False)))
        _MODELS[name] = model.train()
    return _MODELS[name]


def batch(n=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 32, 32, generator=g)
    labels = torch.randint(0, NUM_CLASSES, (n, ), generator=g)
    return x, [DataSample().set_gt_label(int(y)) for y in labels]


def first_tensor(x):
    while not isinstance(x, torch.Tensor):
        x = x[0]
    return x


def block_of(spec: dict, name: str) -> int:
    """Block (1-based) that parameter ``name`` (relative to the distiller) belongs to."""
    prefixes = {f'student.{p}': b for b, ps in spec['blocks'].items() for p in ps
                if not p.startswith('projectors.')}
    prefixes.update({p: b for b, ps in spec['blocks'].items() for p in ps
                     if p.startswith('projectors.')})
    prefixes.update(spec.get('extra_blocks', {}))
    hits = [b for p, b in prefixes.items() if name == p or name.startswith(p + '.')]
    assert len(hits) == 1, f'parameter {name} matches blocks {hits}'
    return hits[0]


def expected_groups(model, stage: int) -> dict:
    """Loss name -> set of blocks of the group it must train, from the partition."""
    active = model.partitions[stage]
    groups = groups_of(active, model.num_blocks)
    expected = {f'loss_mse_b{b + 1}': set(g) for g, b in zip(groups, sorted(active))}
    expected['loss_cls'] = expected['loss_kd'] = set(groups[-1])
    return expected


def run_stage(model, spec, stage):
    """One distillation step in ``stage``, recording what every boundary consumer gets."""
    model.set_stage(stage)
    t_out, s_out, received, handles = {}, {}, {}, []

    def keep(store, i, value):  # hooks must return None, or they replace outputs/inputs
        store.setdefault(i, value)

    for i, (sp, tp, cp) in enumerate(zip(spec['boundaries'],
                                         spec.get('teacher_boundaries') or spec['boundaries'],
                                         spec['consumers'])):
        handles.append(model.teacher.get_submodule(tp).register_forward_hook(
            lambda m, a, out, i=i: keep(t_out, i, out)))
        # prepend: sees the student's own output, before StableKD's hook replaces it
        handles.append(model.student.get_submodule(sp).register_forward_hook(
            lambda m, a, out, i=i: keep(s_out, i, out), prepend=True))
        handles.append(model.student.get_submodule(cp).register_forward_pre_hook(
            lambda m, a, i=i: keep(received, i, first_tensor(a))))
    try:
        losses = model.loss(*batch())
    finally:
        for h in handles:
            h.remove()
    return losses, t_out, s_out, received


@pytest.mark.parametrize('stage', [0, 1, 2, 3])
@pytest.mark.parametrize('name', list(SPECS))
def test_block_inputs_and_per_loss_gradients(name, stage):
    model, spec = build(name), SPECS[name]
    if stage >= model.num_stages:
        pytest.skip(f'{name} has {model.num_stages} stages')
    losses, t_out, s_out, received = run_stage(model, spec, stage)
    active = model.partitions[stage]
    for b in range(len(spec['boundaries'])):
        got = received[b]
        if b in active:
            teacher_feat = first_tensor(t_out[b])
            if str(b) in model.projectors:
                with torch.no_grad():
                    teacher_feat = model.projectors[str(b)]['from_teacher'](teacher_feat)
            assert torch.equal(got, teacher_feat), f'{name}: block {b + 2} input != teacher'
            assert got.requires_grad == (str(b) in model.projectors)  # only via a projector
        else:
            assert torch.equal(got, first_tensor(s_out[b])), f'{name}: block {b + 2} input'
            assert got.requires_grad

    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert all(n.startswith(('student.', 'projectors.')) for n, _ in named)
    blocks = {n: block_of(spec, n) for n, _ in named}  # every parameter is in one block
    expected = expected_groups(model, stage)
    assert {k for k in losses if k.startswith('loss')} == set(expected)
    for loss_name, group in expected.items():
        grads = torch.autograd.grad(losses[loss_name], [p for _, p in named],
                                    allow_unused=True, retain_graph=True)
        touched = {blocks[n] for (n, _), g in zip(named, grads)
                   if g is not None and g.abs().sum() > 0}
        assert touched == group, f'{name} stage {stage}: {loss_name} trains blocks {touched}'


def test_swin_boundary_tuples_pass_hw_shape_through():
    """Swin stages output (tokens, hw_shape): the student's next block gets the teacher's
    tokens with the unchanged hw_shape, and the MSE compares only the tokens."""
    model = build('swin')
    model.set_stage(0)
    seen = []
    h = model.student.backbone.stages[1].downsample.register_forward_pre_hook(
        lambda m, a: seen.append(a) and None)
    try:
        losses = model.loss(*batch())
    finally:
        h.remove()
    tokens, hw_shape = seen[0]
    assert tokens.shape == (4, 8 * 8, 32) and tuple(hw_shape) == (8, 8)
    assert losses['loss_mse_b1'].dim() == 0 and torch.isfinite(losses['loss_mse_b1'])


def test_swin_projectors_are_linear_over_tokens():
    model = build('swin_projectors')
    assert isinstance(model.projectors['0']['to_teacher'], torch.nn.Linear)
    assert model.projectors['3']['from_teacher'].weight.shape == (128, 192)


def test_mismatched_resolution_is_a_build_time_error():
    with pytest.raises(ValueError, match=r"boundary 0 .*differ in more than the channel width"):
        MODELS.build(dict(type='StableKD', student=swin([2, 2, 2, 2]),
                          teacher=swin([2, 2, 2, 2], dims=24), projectors=True,
                          boundaries=['backbone.stages.0'], num_recompositions=1,
                          teacher_boundaries=['backbone.stages.1']))


def test_validation_after_a_step_runs_the_pure_student():
    model = build('vit')
    model.set_stage(0)
    model.loss(*batch())
    x, _ = batch(seed=2)
    model.eval()
    try:
        with torch.no_grad():
            got = model(x, mode='tensor')
            expected = model.student.head(model.student.extract_feat(x))
    finally:
        model.train()
    assert torch.equal(got, expected)
