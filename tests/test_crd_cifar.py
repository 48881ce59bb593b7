"""The CIFAR-100 KD benchmark suite of CRD: its networks, teacher and pair configs, defaults."""
import functools
import importlib.util
import hashlib
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmstablekd  # noqa: F401
from kdbench import benchmark as bm
from kdbench import methods as mt
from mmstablekd.datasets.digits import write_digits_dataset
from mmstablekd.models.utils.default_boundaries import default_boundaries
from mmstablekd.registry import MODELS
from conftest import REPO

NETS = Config.fromfile(REPO / 'configs/_base_/models/crd_cifar100_nets.py').crd_nets

# Exact parameter count and a digest of the ordered parameter shapes of CRD's own networks
# with 100 classes, computed from HobbitLong/RepDistiller models/{resnet,wrn,vgg}.py at commit
# b84f547c5db6a35318d4671d7d5c4de74c822403 (resnet<d>(num_classes=100), wrn_<d>_<k>,
# vgg<d>_bn) with: sha1(repr([tuple(p.shape) for p in net.parameters()]))[:16].
CRD = {
    'resnet20': (278324, '05e1a7e9a3c9cdbe'),
    'resnet32': (472756, 'a5957c26d7fa9f83'),
    'resnet56': (861620, '5ab291a72b0e55f1'),
    'resnet110': (1736564, '4f78fb1e08c1fdb8'),
    'resnet8x4': (1233540, 'd9c29477733fb494'),
    'resnet32x4': (7433860, '4f9a9cac111bcfd7'),
    'wrn16_2': (703284, '39ac5967dd32fbc3'),
    'wrn40_1': (569780, '28f609d0e4c7803a'),
    'wrn40_2': (2255156, 'aed81283eec851da'),
    'vgg8': (3965028, 'd30f2cf2f766c9f8'),
    'vgg13': (9462180, '5ba6b2e109d264fd'),
}
# Other depths of the same families (not in crd_nets): config and CRD's (count, digest).
EXTRA = {
    'resnet8': (dict(type='CifarResNet', depth=8), 64, (83892, '5a5f7d8fed1b804d')),
    'resnet14': (dict(type='CifarResNet', depth=14), 64, (181108, 'd401fc3ec4ce28cc')),
    'resnet44': (dict(type='CifarResNet', depth=44), 64, (667188, '70224fc28623a6b5')),
    'vgg11': (dict(type='CifarVGG', depth=11), 512, (9277284, '79f5a64399f2cf1b')),
}
# The sizes the issue quotes (millions, CRD/DKD papers), to +-1 %.
PUBLISHED = {'resnet20': 0.28, 'resnet32': 0.47, 'resnet56': 0.86, 'resnet110': 1.74,
             'resnet8x4': 1.23, 'resnet32x4': 7.43, 'wrn16_2': 0.70, 'wrn40_2': 2.26,
             'vgg8': 3.96, 'vgg13': 9.46}
PAIRS = {  # config stem -> (student, teacher, teacher config stem)
    'resnet20_r56': ('resnet20', 'resnet56', 'resnet56'),
    'resnet32_r110': ('resnet32', 'resnet110', 'resnet110'),
    'resnet8x4_r32x4': ('resnet8x4', 'resnet32x4', 'resnet32x4'),
    'wrn16-2_wrn40-2': ('wrn16_2', 'wrn40_2', 'wrn40-2'),
    'vgg8_vgg13': ('vgg8', 'vgg13', 'vgg13'),
}
METHODS = ('kd', 'dist', 'sskd', 'stablekd')


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmpretrain')


def build(cfg: dict):
    return MODELS.build(cfg)


def shape_digest(module: torch.nn.Module) -> str:
    shapes = [tuple(p.shape) for p in module.parameters()]
    return hashlib.sha1(repr(shapes).encode()).hexdigest()[:16]


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------- networks
@pytest.mark.parametrize('name', sorted(CRD))
def test_networks_match_crd_layer_for_layer(name):
    net = build(NETS[name])
    assert (count(net), shape_digest(net)) == CRD[name]
    if name in PUBLISHED:
        assert count(net) / 1e6 == pytest.approx(PUBLISHED[name], rel=0.01)


@pytest.mark.parametrize('name', sorted(EXTRA))
def test_other_depths_match_crd(name):
    backbone, channels, expected = EXTRA[name]
    net = build(dict(NETS.resnet20, backbone=backbone,
                     head=dict(NETS.resnet20.head, in_channels=channels)))
    assert (count(net), shape_digest(net)) == expected


@pytest.mark.parametrize('name,shapes', [
    ('resnet20', [(16, 32), (32, 16), (64, 8)]),
    ('resnet8x4', [(64, 32), (128, 16), (256, 8)]),
    ('wrn16_2', [(32, 32), (64, 16), (128, 8)]),
    ('vgg8', [(64, 16), (128, 8), (256, 4), (512, 4)]),
])
def test_stage_outputs_and_default_boundaries(name, shapes):
    """Every stage is returned per out_indices; the stages are the default boundaries."""
    idx = tuple(range(len(shapes)))
    net = build(dict(NETS[name], backbone=dict(NETS[name].backbone, out_indices=idx)))
    outs = net.backbone(torch.randn(2, 3, 32, 32))
    assert [(o.shape[1], o.shape[2]) for o in outs] == shapes
    assert default_boundaries(net, 'model.boundaries') == [
        f'backbone.layer{i + 1}' for i in idx]
    logits = build(NETS[name])(torch.randn(2, 3, 32, 32), mode='tensor')
    assert logits.shape == (2, 100)


def test_resnet_block_is_post_activation_with_projection_shortcut():
    """out = relu(bn2(conv2(relu(bn1(conv1(x))))) + bn(conv1x1(x))) (CRD's BasicBlock)."""
    block = build(dict(type='CifarResNet', depth=8, stem_channels=32,
                       base_channels=64)).layer1[0].eval()
    x = torch.randn(2, 32, 8, 8)
    ref = block.norm2(block.conv2(torch.relu(block.norm1(block.conv1(x)))))
    ref = torch.relu(ref + block.downsample(x))
    assert torch.allclose(block(x), ref)
    assert block.conv1.bias is None and block.downsample[0].kernel_size == (1, 1)


def test_vgg_stage_is_conv_bn_relu_then_pool():
    stage = build(dict(type='CifarVGG', depth=13)).layer1.eval()
    kinds = [type(m).__name__ for m in stage]
    assert kinds == ['Conv2d', 'BatchNorm2d', 'ReLU'] * 2 + ['MaxPool2d']
    assert stage[0].bias is not None  # CRD's VGG convs have biases


@pytest.mark.parametrize('cfg,match', [
    (dict(type='CifarResNet', depth=21), 'CifarResNet.depth must be 6n\\+2'),
    (dict(type='CifarResNet', depth=20, base_channels=0), 'CifarResNet.base_channels'),
    (dict(type='CifarResNet', depth=20, out_indices=(3, )), 'CifarResNet.out_indices'),
    (dict(type='CifarVGG', depth=10), 'CifarVGG.depth must be one of'),
    (dict(type='CifarVGG', depth=8, out_indices=(4, )), 'CifarVGG.out_indices'),
])
def test_bad_backbone_configs(cfg, match):
    with pytest.raises(ValueError, match=match):
        build(cfg)


# ---------------------------------------------------------------------------- configs
@pytest.mark.parametrize('stem', ['resnet56', 'resnet110', 'resnet32x4', 'wrn40-2', 'vgg13'])
def test_teacher_configs_follow_the_crd_recipe(stem):
    cfg = Config.fromfile(REPO / f'configs/teachers/{stem}_cifar100.py')
    assert count(build(cfg.model)) == CRD[stem.replace('-', '_')][0]
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.05, 0.9, 5e-4)
    sched = cfg.param_scheduler
    assert (sched.type, sched.milestones, sched.gamma) == ('MultiStepLR', [150, 180, 210], 0.1)
    assert cfg.train_cfg.max_epochs == 240 and cfg.train_dataloader.batch_size == 64
    pipeline = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert pipeline == ['RandomCrop', 'RandomFlip', 'PackInputs']
    assert cfg.train_dataloader.dataset.pipeline[0]['padding'] == 4
    assert cfg.default_hooks.checkpoint.interval == 1
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 3
    assert cfg.work_dir == f'./work_dirs/teachers_{stem}_cifar100'


def _pair_cfg(method: str, stem: str) -> Config:
    return Config.fromfile(REPO / f'configs/{method}/{stem}_cifar100.py')


@functools.lru_cache(maxsize=None)
def _teacher_model(stem: str) -> dict:
    return Config.fromfile(REPO / f'configs/teachers/{stem}_cifar100.py').model.to_dict()


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('stem', sorted(PAIRS))
def test_pair_configs_build_the_crd_networks(method, stem):
    cfg = _pair_cfg(method, stem)
    student, teacher, t_stem = PAIRS[stem]
    assert cfg.model.teacher_ckpt == f'work_dirs/teachers_{t_stem}_cifar100/epoch_240.pth'
    assert cfg.model.teacher.to_dict() == _teacher_model(t_stem)
    cfg.model.teacher_ckpt = None
    model = build(cfg.model)
    assert count(model.student) == CRD[student][0] and count(model.teacher) == CRD[teacher][0]
    assert cfg.work_dir == f'./work_dirs/{method}_{stem}_cifar100'
    assert cfg.default_hooks.checkpoint.interval == 1
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 3
    text = (REPO / f'configs/{method}/{stem}_cifar100.py').read_text()
    assert 'Published top-1' in text and 'CRD Table 1' in text
    vgg = stem.startswith('vgg')
    if method == 'stablekd':  # StableKD-5/2: stem | 3 stages | head (ResNet/WRN), 4 + head (VGG)
        stem_out = 'backbone.conv1' if stem.startswith('wrn') else 'backbone.relu'
        assert model.boundaries == ([f'backbone.layer{i}' for i in range(1, 5)] if vgg else
                                    [stem_out] + [f'backbone.layer{i}' for i in range(1, 4)])
        assert [model.partition_str(s) for s in range(model.num_stages)] == \
            ['{1}{2}{3}{4}{5}', '{12}{34}{5}', '{1234}{5}']
        # the last stage keeps exactly one boundary: the head's input ({backbone}{head})
        assert model.partitions[-1] == (len(model.boundaries) - 1, )
        assert model.boundaries[-1] == ('backbone.layer4' if vgg else 'backbone.layer3')
        lr_sched, mom_sched = cfg.param_scheduler
        assert (lr_sched.type, mom_sched.type) == ('StageCyclicLR', 'StageCyclicMomentum')
        assert lr_sched.num_stages == mom_sched.num_stages == 3
        assert (mom_sched.base_momentum, mom_sched.max_momentum) == (0.8, 0.9)
        assert cfg.train_dataloader.batch_size == 128
        assert cfg.optim_wrapper.optimizer.lr * lr_sched.peak_ratio == 0.5
    elif method == 'sskd':
        assert model.boundaries == [f'backbone.layer{i}' for i in range(1, 4 + vgg)]
        assert model.num_stages == 4 + vgg
        assert type(model.stage_loss).__name__ == 'FeatureL2Loss'
        assert model.stage_loss.reduction == 'channel_sum'
        assert cfg.optim_wrapper.optimizer.lr == 0.01
        sched = cfg.param_scheduler[0]
        assert (sched.type, sched.num_stages, tuple(sched.milestones), sched.gamma) == \
            ('StageStepLR', 4 + vgg, (0.3, 0.6, 0.9), 0.1)
        # the paper's uniform LR 0.01 for every backbone stage; the head phase at LR 0.1
        assert list(sched.stage_factors) == [1] * (3 + vgg) + [10]
    else:
        assert cfg.param_scheduler.milestones == [150, 180, 210]
        assert cfg.train_cfg.max_epochs == 240 and cfg.train_dataloader.batch_size == 64
        if method == 'kd':  # CRD: 0.1 CE + 0.9 KD, T = 4
            assert (model.ce_weight, model.alpha, model.tau) == (pytest.approx(0.1), 0.9, 4.0)
        else:  # DIST CIFAR: CE + 2 tau^2 (inter + intra), tau = 4
            assert (model.alpha, model.beta, model.gamma, model.tau) == (1.0, 1.0, 1.0, 4.0)
            assert model.loss_weight == 2.0


TINY = '''
_arch = dict(head=dict(num_classes=4))
model = dict(student=_arch, teacher=_arch, teacher_ckpt=None)
train_cfg = dict(max_epochs={epochs}, val_begin={epochs})
default_hooks = dict(logger=dict(interval=1))
'''
SSKD_TINY = '''
param_scheduler = []
custom_hooks = [dict(type='SSKDStageHook'), dict(type='StudentCheckpointHook')]
'''


@pytest.mark.parametrize('method,stem,epochs', [
    ('kd', 'resnet20_r56', 1),
    ('dist', 'resnet20_r56', 1),
    ('stablekd', 'resnet20_r56', 3),
    ('sskd', 'vgg8_vgg13', 5),
])
def test_pair_configs_train_on_tiny_data(method, stem, epochs, data_override, tmp_path):
    """One iteration per epoch through MMEngine's Runner, every stage/phase visited."""
    extra = TINY.format(epochs=epochs) + (SSKD_TINY if method == 'sskd' else '')
    cfg = Config.fromfile(data_override(f'configs/{method}/{stem}_cifar100.py', extra=extra,
                                        batch_size=4))
    cfg.train_dataloader.dataset.indices = 4
    cfg.val_dataloader.dataset.indices = 4
    cfg.work_dir = str(tmp_path / 'run')
    runner = Runner.from_cfg(cfg)
    before = {k: v.clone() for k, v in runner.model.student.state_dict().items()}
    runner.train()
    after = runner.model.student.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert getattr(runner.model, 'stage', epochs - 1) == epochs - 1  # last stage reached
    assert (tmp_path / 'run' / f'epoch_{epochs}.pth').is_file()


# ---------------------------------------------------------------------------- digits suite
@pytest.fixture(scope='module')
def digits_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('digits')
    write_digits_dataset(root)
    return root


@pytest.mark.parametrize('name,config', [(m.name, m.config) for m in mt.rows(mt.CRD)])
def test_digits_suite_configs_take_a_training_step(name, config, digits_root):
    """The digits versions of configs/*/resnet20_r56_cifar100.py: ResNet-20 student (and
    ResNet-56 teacher from the checkpoint ensure_teacher writes), 10 classes, one step."""
    path = str(mt.config_dir() / config)
    staged = 'sskd' in config or 'stablekd' in config  # the step runs their first stage
    model, optim_wrapper, cfg = bm.build_method(path, stage=0 if staged else None)
    nets = [model.student, model.teacher] if hasattr(model, 'teacher') else [model]
    assert [n.backbone.depth for n in nets] == [20, 56][:len(nets)]
    assert all(type(n.backbone).__name__ == 'CifarResNet' for n in nets)
    assert all(n.head.num_classes == 10 for n in nets)
    if hasattr(model, 'teacher'):
        teacher_cfg = Config.fromfile(mt.config_dir() / mt.TEACHERS[mt.CRD][1])
        assert cfg.model.teacher_ckpt == (f'work_dirs/quickstart_crd_teacher_r56_digits/'
                                          f'epoch_{teacher_cfg.train_cfg.max_epochs}.pth')
        assert cfg.model.teacher == teacher_cfg.model
    losses = model.train_step(bm.load_batch(path, str(digits_root)), optim_wrapper)
    assert losses and all(torch.isfinite(v) for v in losses.values())


def test_crd_suite_trains_the_r56_teacher_then_every_method(monkeypatch):
    calls = {}

    def fake_teacher(data_root, work_root, say, teacher):
        calls['teacher'] = teacher
        return 'ckpt.pth', bm.RunRecord('t', 0, 15, val_top1=[90.0])

    def fake_convergence(methods, budgets, seeds, data_root, out_dir, teacher_ckpt, say):
        calls['convergence'] = (methods, budgets, seeds, teacher_ckpt)
        return [], ['note']

    monkeypatch.setattr(bm, 'ensure_teacher', fake_teacher)
    monkeypatch.setattr(bm, 'convergence', fake_convergence)
    records, teacher, notes = bm.crd_suite([4, 8], [0], 'data', 'work', 'out', print)
    assert calls['teacher'] == mt.TEACHERS[mt.CRD] and teacher.final_top1 == 90.0
    methods, budgets, seeds, ckpt = calls['convergence']
    assert [m.name for m in methods] == ['Student (scratch)', 'KD', 'DIST', 'SSKD',
                                         'StableKD-5/2']
    assert all((mt.config_dir() / m.config).is_file() for m in methods)
    assert (budgets, seeds, ckpt, notes) == ([4, 8], [0], 'ckpt.pth', ['note'])


def test_benchmark_cli_suite_crd_writes_its_own_report(monkeypatch, tmp_path):
    """`tools/benchmark.py --suite crd` runs only the CRD suite and, without --out, writes
    benchmarks/crd_digits.md (not the main report)."""
    spec = importlib.util.spec_from_file_location('benchmark_cli', REPO / 'tools/benchmark.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    calls = []

    def fake_suite(budgets, seeds, *args):
        calls.append((budgets, seeds))
        return ([bm.RunRecord('KD', 0, 4, val_top1=[50.0], epoch_seconds=[1.0])],
                bm.RunRecord('t', 0, 15, val_top1=[90.0]), ['SSKD at 3 epochs skipped'])

    monkeypatch.setattr(bm, 'crd_suite', fake_suite)
    monkeypatch.setattr(bm, 'time_train_steps', lambda *a, **k: pytest.fail('timing ran'))
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    try:
        cli.main(['--suite', 'crd', '--base-epochs', '4', '--multiples', '1', '2',
                  '--seeds', '0', '--threads', str(threads)])
    finally:
        torch.set_num_threads(threads)
    assert calls == [([4, 8], [0])]
    text = (tmp_path / 'benchmarks' / 'crd_digits.md').read_text()
    assert 'ResNet-56 -> ResNet-20' in text
    assert 'Teacher (ResNet-56, 15 epochs): 90.00 %' in text
    assert '| KD | 50.00 (50.00 ± 0.00) | – |' in text and '- SSKD at 3 epochs skipped' in text
    assert not (tmp_path / 'benchmarks' / 'results.md').exists()
