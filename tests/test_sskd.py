"""SSKD (Gao et al., stage-by-stage KD): freezing, phases, losses, hook and bad configs."""
import copy
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MessageHub, MMLogger
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.engine.hooks import SSKDStageHook
from mmstablekd.registry import MODELS
from mmstablekd.utils.checkpoint import mmengine_checkpoints
from conftest import resnet_cifar_classifier

BOUNDARIES = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3', 'backbone.layer4']
# State-dict prefixes of the student modules that learn in each phase (ResNet_CIFAR).
PHASE_PREFIXES = {
    0: ('student.backbone.conv1.', 'student.backbone.bn1.', 'student.backbone.layer1.',
        'adapters.0.'),
    1: ('student.backbone.layer2.', 'adapters.1.'),
    2: ('student.backbone.layer3.', 'adapters.2.'),
    3: ('student.backbone.layer4.', 'adapters.3.'),
    4: ('student.head.', ),
}


def classifier(depth: int, width: int = 4, num_classes: int = 4) -> dict:
    return resnet_cifar_classifier(depth, width, num_classes)


def build(student_width=4, teacher_width=8, **kw):
    """Student narrower than the teacher, so every stage has a 1x1-conv adapter."""
    torch.manual_seed(0)
    cfg = dict(type='SSKD', student=classifier(18, student_width),
               teacher=classifier(34, teacher_width), **kw)
    return MODELS.build(cfg)


def batch(n=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 32, 32, generator=g)
    labels = torch.randint(0, 4, (n, ), generator=g)
    return x, [DataSample().set_gt_label(int(y)) for y in labels]


def sgd_steps(model, stage, steps=2, seed=1):
    """``steps`` SGD steps (momentum and weight decay on, so a parameter that merely sits in
    the optimizer would move) in ``stage``."""
    model.set_stage(stage)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    for i in range(steps):
        x, samples = batch(seed=seed + i)
        opt.zero_grad()
        sum(v for k, v in model.loss(x, samples).items() if k.startswith('loss')).backward()
        opt.step()
    return opt


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_default_boundaries_and_adapters():
    model = build()
    assert model.boundaries == BOUNDARIES and model.teacher_boundaries == BOUNDARIES
    assert model.num_stages == 5
    assert sorted(model.adapters.keys()) == ['0', '1', '2', '3']
    assert isinstance(model.adapters['0'].proj, torch.nn.Conv2d)
    assert model.adapters['0'].proj.kernel_size == (1, 1)
    same = build(student_width=8)
    assert len(same.adapters) == 0


@pytest.mark.parametrize('stage', range(5))
def test_only_the_current_phase_changes(stage):
    """After optimizer steps in phase ``stage`` only that phase's parameters and BN buffers
    differ; everything else (other stages, head, teacher, other adapters) is bit-equal, even
    with momentum buffers left over from the previous phase."""
    model = build()
    opt = sgd_steps(model, max(stage - 1, 0)) if stage > 0 else None
    before = snapshot(model)
    model.set_stage(stage)
    model.train()
    for i in range(2):
        x, samples = batch(seed=10 + i)
        opt = opt or torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
        opt.zero_grad()
        sum(v for k, v in model.loss(x, samples).items() if k.startswith('loss')).backward()
        opt.step()
    after = snapshot(model)
    own = PHASE_PREFIXES[stage]
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed, 'nothing learned'
    assert all(k.startswith(own) for k in changed), sorted(k for k in changed
                                                           if not k.startswith(own))
    # The phase's weights and (for backbone stages) its BN statistics did move.
    assert any(k.endswith('weight') for k in changed)
    if stage < 4:
        assert any(k.endswith('running_mean') for k in changed)


def test_frozen_modules_in_eval_mode_and_without_grad():
    model = build()
    model.set_stage(2)
    model.train()
    bns = {n: m for n, m in model.student.named_modules()
           if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
    for name, bn in bns.items():
        assert bn.training == name.startswith('backbone.layer3'), name
        assert all(p.requires_grad == name.startswith('backbone.layer3')
                   for p in bn.parameters()), name
    assert not model.teacher.training
    assert model.student.head.fc.weight.requires_grad is False
    # eval() then train() (as the runner does around validation) keeps the freezing.
    model.eval()
    assert not any(bn.training for bn in bns.values())
    model.train()
    assert [n for n, bn in bns.items() if bn.training] == \
        [n for n in bns if n.startswith('backbone.layer3')]


def _recorder(calls, outs, key):
    def hook(module, args, output):
        calls.append(key)
        outs[key] = output
    return hook


@pytest.mark.parametrize('stage', range(4))
def test_stage_loss_uses_student_features_and_stops_early(stage):
    model = build()
    model.set_stage(stage)
    model.train()
    calls, outs, ins, handles = [], {}, {}, []
    for i in range(1, 5):
        for net in ('student', 'teacher'):
            layer = getattr(model, net).backbone.get_submodule(f'layer{i}')
            handles.append(layer.register_forward_hook(_recorder(calls, outs, (net, i))))
            handles.append(layer.register_forward_pre_hook(
                lambda m, a, key=(net, i): ins.__setitem__(key, a[0])))
    handles.append(model.student.head.register_forward_hook(
        lambda *a: calls.append(('student', 'head'))))
    x, samples = batch()
    losses = model.loss(x, samples)
    for h in handles:
        h.remove()
    k = stage + 1
    assert list(losses) == [f'loss_stage{k}']
    # Both networks run up to stage k and not further.
    assert sorted(calls) == sorted([(n, i) for n in ('student', 'teacher')
                                    for i in range(1, k + 1)])
    # Stage k gets the student's own previous output, not the teacher's.
    if k > 1:
        assert ins[('student', k)] is outs[('student', k - 1)]
    s, t = outs[('student', k)], outs[('teacher', k)]
    assert not t.requires_grad
    # The paper's psi = ||a - b||^2: a sum over the feature, a mean over the batch.
    adapted = model.adapters[str(stage)](s, t).double()
    expected = sum(((adapted[i] - t[i].double())**2).sum() for i in range(len(t))) / len(t)
    assert type(model.stage_loss).__name__ == 'FeatureL2Loss'
    assert losses[f'loss_stage{k}'].item() == pytest.approx(expected.item(), rel=1e-5)


def test_head_phase_is_ce_only_without_teacher():
    model = build()
    model.set_stage(4)
    model.train()
    teacher_calls = []
    h = model.teacher.register_forward_pre_hook(lambda *a: teacher_calls.append(1))
    h2 = model.teacher.backbone.register_forward_pre_hook(lambda *a: teacher_calls.append(1))
    x, samples = batch()
    losses = model.loss(x, samples)
    h.remove()
    h2.remove()
    assert not teacher_calls
    assert set(losses) == {'loss_cls'}
    model.eval()
    logits = model.student(x, mode='tensor')
    labels = torch.tensor([int(s.gt_label) for s in samples])
    model.train()
    assert torch.allclose(losses['loss_cls'], F.cross_entropy(logits, labels), atol=1e-6)


def test_resize_adapter_when_resolutions_differ():
    student = classifier(18)
    student['backbone']['strides'] = (2, 2, 2, 2)  # half the teacher's resolution everywhere
    model = MODELS.build(dict(type='SSKD', student=student, teacher=classifier(34, 8)))
    model.set_stage(1)
    model.train()
    x, samples = batch()
    loss = model.loss(x, samples)['loss_stage2']
    assert torch.isfinite(loss)
    s = torch.randn(2, 8, 8, 8)
    t = torch.randn(2, 16, 16, 16)
    assert model.adapters['1'](s, t).shape == t.shape


def test_predict_runs_pure_student():
    model = build()
    model.eval()
    x, samples = batch()
    preds = model(x, copy.deepcopy(samples), mode='predict')
    ref = model.student(x, copy.deepcopy(samples), mode='predict')
    assert torch.equal(torch.stack([p.pred_score for p in preds]),
                       torch.stack([p.pred_score for p in ref]))


@pytest.mark.parametrize('kw,exc,match', [
    (dict(boundaries=['backbone.layer9']), ValueError, r'model.boundaries\[0\]'),
    (dict(boundaries=['backbone.layer2', 'backbone.layer1']), ValueError, 'forward order'),
    (dict(boundaries='backbone.layer1'), TypeError, 'model.boundaries must be a non-empty'),
    (dict(boundaries=BOUNDARIES, teacher_boundaries=BOUNDARIES[:2]), ValueError,
     'model.teacher_boundaries has 2'),
    (dict(adapters=False), ValueError, 'model.adapters=True'),
])
def test_bad_configs(kw, exc, match):
    with pytest.raises(exc, match=match):
        build(**kw)


class _OneResidualBlock(torch.nn.Module):
    """A backbone that is a single residual block: none of its modules is a cut."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x):
        return (x + self.conv2(self.conv1(x)), )


def test_default_boundaries_for_other_backbones():
    """LeNet5 (1-channel input) gets defaults from its ``features``; a backbone without any
    cut gets a clear error listing the valid paths."""
    student = dict(type='ImageClassifier',
                   backbone=dict(type='LeNet5', num_classes=0),
                   neck=dict(type='GlobalAveragePooling'),
                   head=dict(type='LinearClsHead', num_classes=4, in_channels=120))
    model = MODELS.build(dict(type='SSKD', student=student, teacher=student,
                              probe_input_shape=(1, 32, 32)))
    assert model.boundaries and all(p.startswith('backbone.features.')
                                    for p in model.boundaries)
    nets = []
    for _ in range(2):
        net = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='LeNet5'),
                                neck=dict(type='GlobalAveragePooling'),
                                head=dict(type='LinearClsHead', num_classes=4, in_channels=3)))
        net.backbone = _OneResidualBlock()
        nets.append(net)
    with pytest.raises(ValueError, match=r'model.boundaries is not set and no default '
                       r'boundaries .*_OneResidualBlock.*list_boundaries'):
        MODELS.build(dict(type='SSKD', student=nets[0], teacher=nets[1]))


def test_set_stage_range():
    with pytest.raises(ValueError, match=r'stage must be an int in \[0, 4\]'):
        build().set_stage(5)


# ---------------------------------------------------------------------------- hook
def fake_runner(model, epoch, max_epochs):
    """Enough of a Runner for SSKDStageHook; the real Runner is exercised below."""
    from mmengine.runner import EpochBasedTrainLoop

    loop = EpochBasedTrainLoop.__new__(EpochBasedTrainLoop)
    return SimpleNamespace(model=model, epoch=epoch, max_epochs=max_epochs, _train_loop=loop,
                           train_loop=loop, logger=MMLogger.get_current_instance(),
                           message_hub=MessageHub.get_current_instance())


@pytest.mark.parametrize('epoch,stage', [(0, 0), (2, 0), (3, 1), (8, 3), (9, 4), (11, 4)])
def test_hook_derives_stage_from_epoch(epoch, stage):
    """A resumed run enters the phase of its epoch directly (no history needed)."""
    model = build()
    hook = SSKDStageHook(stage_epochs=[3, 2, 2, 2, 3])
    runner = fake_runner(model, epoch, 12)
    hook.before_run(runner)
    hook.before_train_epoch(runner)
    assert model.stage == stage
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(PHASE_PREFIXES[stage]) for n in trainable)


def test_hook_default_epochs_split_evenly():
    model = build()
    hook = SSKDStageHook()
    hook.before_run(fake_runner(model, 0, 12))
    assert hook.epochs == [2, 2, 2, 2, 4]


@pytest.mark.parametrize('stage_epochs,max_epochs,match', [
    ([3, 3, 3, 3], 12, r'must have 5 entries'),
    ([3, 3, 3, 3, 3], 12, r'summing to train_cfg.max_epochs=12'),
    ([0, 3, 3, 3, 3], 12, r'positive entries'),
    (None, 3, r'max_epochs=3 is smaller than the number of SSKD phases \(5\)'),
])
def test_hook_bad_epochs(stage_epochs, max_epochs, match):
    with pytest.raises(ValueError, match=match):
        SSKDStageHook(stage_epochs).before_run(fake_runner(build(), 0, max_epochs))


def test_hook_needs_sskd_model():
    model = MODELS.build(dict(type='VanillaKD', student=classifier(18), teacher=classifier(34)))
    with pytest.raises(TypeError, match='model.type="SSKD"'):
        SSKDStageHook().before_run(fake_runner(model, 0, 5))
    with pytest.raises(TypeError, match='list of ints'):
        SSKDStageHook(stage_epochs=12)


# ---------------------------------------------------------------------------- Runner
class _PhaseRecorder(Hook):
    priority = 'LOW'  # after SSKDStageHook

    def __init__(self):
        self.stages = []

    def before_train_epoch(self, runner):
        self.stages.append(runner.model.stage)


TINY = '''
_s = dict(backbone=dict(stem_channels=4, base_channels=4), head=dict(num_classes=4,
          in_channels=32))
_t = dict(backbone=dict(stem_channels=8, base_channels=8), head=dict(num_classes=4,
          in_channels=64))
model = dict(student=_s, teacher=_t, teacher_ckpt=None)
custom_hooks = [dict(type='SSKDStageHook', stage_epochs=[1, 1, 1, 1, 1]),
                dict(type='StudentCheckpointHook')]
train_cfg = dict(max_epochs=5, val_begin=5)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=10),
                     logger=dict(interval=1))
'''


def test_runner_trains_phases_freezes_and_resumes(data_override, tmp_path):
    """configs/sskd through MMEngine's Runner: one epoch per phase; every stage's weights and
    BN statistics stay bit-equal after its phase; resuming enters the right phase."""
    cfg = Config.fromfile(data_override('configs/sskd/resnet18_r34_cifar100.py', extra=TINY,
                                        batch_size=4))
    cfg.train_dataloader.dataset.indices = 4  # 1 iteration per epoch
    cfg.work_dir = str(tmp_path / 'run')
    runner = Runner.from_cfg(cfg)
    recorder = _PhaseRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert recorder.stages == [0, 1, 2, 3, 4]

    def state(epoch):
        ckpt = torch.load(osp.join(cfg.work_dir, f'epoch_{epoch}.pth'), map_location='cpu',
                          weights_only=False)
        return ckpt['state_dict']

    final = state(5)
    for stage in range(4):
        done = state(stage + 1)  # end of this stage's epoch
        keys = [k for k in final if k.startswith(PHASE_PREFIXES[stage])]
        assert keys and all(torch.equal(done[k], final[k]) for k in keys), stage
    before_head = state(4)
    head = [k for k in final if k.startswith('student.head.')]
    assert not all(torch.equal(before_head[k], final[k]) for k in head)
    exported = torch.load(osp.join(cfg.work_dir, 'student_epoch_5.pth'), map_location='cpu',
                          weights_only=False)['state_dict']
    assert not any('adapters' in k or k.startswith('teacher') for k in exported)

    cfg2 = Config.fromfile(data_override('configs/sskd/resnet18_r34_cifar100.py', extra=TINY,
                                         batch_size=4, name='cfg2.py'))
    cfg2.train_dataloader.dataset.indices = 4
    cfg2.work_dir = str(tmp_path / 'resumed')
    cfg2.resume = True
    cfg2.load_from = osp.join(cfg.work_dir, 'epoch_3.pth')
    runner2 = Runner.from_cfg(cfg2)
    recorder2 = _PhaseRecorder()
    runner2.register_hook(recorder2)
    with mmengine_checkpoints():  # what tools/train.py does around Runner.train()
        runner2.train()
    assert recorder2.stages == [3, 4]


class _LRRecorder(Hook):
    priority = 'LOW'  # after SSKDStageHook

    def __init__(self):
        self.lrs, self.stages = [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])
        self.stages.append(runner.model.stage)


SCHEDULE = TINY.split('custom_hooks')[0] + """
train_cfg = dict(max_epochs=10, val_begin=11)
default_hooks = dict(checkpoint=dict(interval=-1), logger=dict(interval=1))
"""


STEPS = [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.001]  # x0.1 at 30/60/90 % of 8: iterations 2, 5, 7
SCHEDULES = {  # LR of the 8 iterations of each phase
    'configs/sskd/resnet18_r34_cifar100.py':  # the paper's steps in every phase
        [0.01 * f * x for f in (1, 1, 1, 1, 10) for x in STEPS],
    'configs/quickstart/sskd_r18_r34_digits.py':  # constant backbone phases, head with steps
        [0.01 for _ in range(4) for _ in STEPS] + [0.1 * x for x in STEPS],
}


@pytest.mark.parametrize('config', sorted(SCHEDULES))
def test_config_phases_and_lr_steps_follow_max_epochs(config, data_override, tmp_path):
    """Overriding only train_cfg.max_epochs (10) rescales the phases (2 epochs each) and the
    per-phase LR, restarted every phase (see the configs' comments for the numbers)."""
    cfg = Config.fromfile(data_override(config, extra=SCHEDULE, batch_size=4))
    cfg.train_dataloader.dataset.indices = 16  # 4 iterations per epoch, 8 per phase
    cfg.model.probe_input_shape = (3, 32, 32)
    cfg.work_dir = str(tmp_path / 'run')
    # This test is about the schedule only: the random teacher and the test images' sizes
    # (32x32 also for the digits config) are not what the stage LRs were set for, and a
    # diverging loss must not stop the run before every phase is recorded.
    cfg.default_hooks.nonfinite_guard.enabled = False
    runner = Runner.from_cfg(cfg)
    recorder = _LRRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert recorder.stages == [p for p in range(5) for _ in range(8)]
    assert recorder.lrs == pytest.approx(SCHEDULES[config], rel=1e-9)


def test_hook_rejects_lr_phases_that_differ(data_override, tmp_path):
    """stage_epochs given to SSKDStageHook but not to StageStepLR: a clear error at start."""
    extra = SCHEDULE + "custom_hooks = [dict(type='SSKDStageHook', stage_epochs=[6, 1, 1, 1, 1])]\n"
    cfg = Config.fromfile(data_override('configs/sskd/resnet18_r34_cifar100.py', extra=extra,
                                        batch_size=4))
    cfg.work_dir = str(tmp_path)
    with pytest.raises(ValueError, match=r'restarts the LR at phases of \[2, 2, 2, 2, 2\]'):
        Runner.from_cfg(cfg).train()


# ---------------------------------------------------------------------------- DDP
def _ddp_worker(rank, world, init_file, out):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    torch.set_num_threads(1)
    # Same seed on both ranks. The element-mean stage loss keeps these random features and
    # LR 0.1 finite (the paper's sum would diverge here), so "changed" means learned.
    model = build(stage_loss=dict(type='FeatureMSELoss'))
    ddp = DistributedDataParallel(model, find_unused_parameters=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    result = {}
    for stage in (0, 1, 4):
        model.set_stage(stage)  # after wrapping, as SSKDStageHook does
        model.train()
        before = snapshot(model)
        for i in range(2):
            x, samples = batch(seed=100 * rank + 10 * stage + i)  # different data per rank
            opt.zero_grad()
            losses = ddp(x, samples, mode='loss')
            sum(v for k, v in losses.items() if k.startswith('loss')).backward()
            opt.step()
        after = snapshot(model)
        changed = [k for k in before if not torch.equal(before[k], after[k])]
        flat = torch.cat([p.detach().flatten() for p in model.parameters()])
        gathered = [torch.zeros_like(flat) for _ in range(world)]
        dist.all_gather(gathered, flat)
        result[stage] = dict(changed=changed,
                             in_sync=all(torch.equal(gathered[0], g) for g in gathered))
    if rank == 0:
        torch.save(result, out)
    dist.destroy_process_group()


def test_ddp_freezing_and_sync(tmp_path):
    """Under DistributedDataParallel (2 CPU processes, gloo, find_unused_parameters=True as
    in configs/sskd): only the current phase changes and the ranks stay identical."""
    import torch.multiprocessing as mp

    out = tmp_path / 'result.pt'
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / 'init'), str(out)), nprocs=2)
    result = torch.load(out, weights_only=False)
    for stage, res in result.items():
        assert res['changed'] and res['in_sync'], stage
        assert all(k.startswith(PHASE_PREFIXES[stage]) for k in res['changed']), stage
