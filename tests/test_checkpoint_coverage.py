"""Issue 19.1: the safe loader's allow-list covers the saved state of every MMEngine param
scheduler (LR, momentum and generic; warm-up chains) and hook, found by building each one,
saving its real state and loading it back with :func:`load_checkpoint_file` -- and nothing
more: pickles that try to abuse the newly admitted globals are refused."""
import inspect
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.optim.scheduler import param_scheduler as mmengine_schedulers
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.momentum_scheduler import MomentumSchedulerMixin
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_SCHEDULERS
from mmengine.runner import Runner

import mmstablekd  # noqa: F401  (registers our schedulers and hooks)
from mmstablekd.registry import PARAM_SCHEDULERS
from mmstablekd.utils.checkpoint import (CheckpointError, UnsafeCheckpointError,
                                         allowed_globals, load_checkpoint_file,
                                         mmengine_checkpoints)

# Arguments per scheduler family (the generic ParamScheduler every LR/momentum class derives
# from); a scheduler MMEngine adds later without an entry here fails the coverage test.
FAMILY_ARGS = {
    'ConstantParamScheduler': dict(factor=0.5, end=4),
    'CosineAnnealingParamScheduler': dict(T_max=4, eta_min=0.0),
    'ExponentialParamScheduler': dict(gamma=0.9),
    'LinearParamScheduler': dict(start_factor=0.1, end=4),
    'MultiStepParamScheduler': dict(milestones=[1, 2]),
    'StepParamScheduler': dict(step_size=2),
    'OneCycleParamScheduler': dict(eta_max=0.5, total_steps=10),
    'PolyParamScheduler': dict(eta_min=0.0, power=1.0, end=4),
    'CosineRestartParamScheduler': dict(periods=[2, 3], restart_weights=[1.0, 0.5],
                                        eta_min=0.0),
    'ReduceOnPlateauParamScheduler': dict(monitor='loss', patience=0),
    'StageCyclicParamScheduler': dict(num_stages=2, stage_epochs=[2, 2], end=4),
    'StageStepParamScheduler': dict(num_stages=2, stage_epochs=[2, 2], end=4),
    'OneCycleMomentumParamScheduler': dict(end=10),
}


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """The toy Runner below sets MMEngine's current default scope to 'mmengine'; put the
    previous scopes back so later tests build in theirs (order-independent suite)."""
    from mmengine.registry import DefaultScope
    saved = DefaultScope._instance_dict.copy()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)


def _family(cls) -> str:
    for base in cls.__mro__:
        if base.__name__ in FAMILY_ARGS:
            return base.__name__
    raise AssertionError(f'{cls.__name__}: no entry in FAMILY_ARGS (a new scheduler?)')


def _scheduler_classes():
    mine = {name: cls for name, cls in PARAM_SCHEDULERS.module_dict.items()
            if cls.__module__.startswith('mmstablekd.')}
    return {**dict(MMENGINE_SCHEDULERS.module_dict), **mine}


SCHEDULERS = sorted(_scheduler_classes())


def _build(cls, extra=None):
    params = [torch.nn.Parameter(torch.ones(2))]
    optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    kwargs = dict(FAMILY_ARGS[_family(cls)], **(extra or {}))
    if 'param_name' in inspect.signature(cls.__init__).parameters and \
            not issubclass(cls, (LRSchedulerMixin, MomentumSchedulerMixin)):
        kwargs['param_name'] = 'lr'
    if issubclass(cls, MomentumSchedulerMixin) or 'Momentum' in cls.__name__:
        kwargs.pop('eta_max', None)
    return cls(optimizer, **kwargs), optimizer


def _step(scheduler, optimizer, times: int = 3):
    for i in range(times):
        optimizer.step()
        if 'metrics' in inspect.signature(scheduler.step).parameters:
            scheduler.step(metrics=dict(loss=1.0 - 0.1 * (i % 2)))
        else:
            scheduler.step()


def test_every_scheduler_is_covered():
    """The parametrised test below sees every registered scheduler (ours included)."""
    assert {'OneCycleLR', 'CosineRestartMomentum', 'ReduceOnPlateauLR', 'PolyMomentum',
            'StageCyclicLR', 'StageCyclicMomentum', 'StageStepLR'} <= set(SCHEDULERS)
    for name in SCHEDULERS:
        _family(_scheduler_classes()[name])


@pytest.mark.parametrize('name', SCHEDULERS)
def test_scheduler_state_loads_safely_and_resumes_the_schedule(name, tmp_path):
    cls = _scheduler_classes()[name]
    scheduler, optimizer = _build(cls)
    _step(scheduler, optimizer)
    path = tmp_path / 's.pth'
    torch.save(dict(param_schedulers=[scheduler.state_dict()]), path)
    state = load_checkpoint_file(str(path))['param_schedulers'][0]
    assert state.keys() == scheduler.state_dict().keys()
    again, optimizer2 = _build(cls)
    optimizer2.load_state_dict(optimizer.state_dict())
    again.load_state_dict(state)
    _step(scheduler, optimizer, 2)
    _step(again, optimizer2, 2)
    assert [g['lr'] for g in optimizer.param_groups] == \
        [g['lr'] for g in optimizer2.param_groups]
    assert [g.get('momentum') for g in optimizer.param_groups] == \
        [g.get('momentum') for g in optimizer2.param_groups]


@pytest.mark.parametrize('anneal', ['cos', 'linear'])
def test_one_cycle_state_holds_a_function_and_needs_the_allow_list(anneal, tmp_path):
    cls = _scheduler_classes()['OneCycleLR']
    scheduler, _ = _build(cls, dict(anneal_strategy=anneal))
    path = tmp_path / 'onecycle.pth'
    torch.save(scheduler.state_dict(), path)
    with pytest.raises(Exception, match='Unsupported global'):
        torch.load(path, weights_only=True)  # torch's own list refuses it
    loaded = load_checkpoint_file(str(path))
    assert loaded['anneal_func'] is getattr(mmengine_schedulers.OneCycleParamScheduler,
                                            f'_annealing_{anneal}')


# ---- every hook, through a real Runner ----------------------------------------------------


class _ToyModel(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=F.mse_loss(out, labels))
        if mode == 'predict':
            return list(zip(out, labels))
        return out


class _ToyData(torch.utils.data.Dataset):

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> dict:
        x = torch.tensor([float(i), 1.0]) / 8
        return dict(inputs=x, labels=x[:1] * 2)


class _NegMSE(BaseMetric):

    def process(self, data_batch, data_samples) -> None:
        self.results += [float((o - t).pow(2).mean()) for o, t in data_samples]

    def compute_metrics(self, results) -> dict:
        return dict(neg_mse=-sum(results) / len(results))


def _toy_runner(work_dir: Path, epochs: int, resume: str = None) -> Runner:
    loader = dict(dataset=_ToyData(), sampler=dict(type='DefaultSampler', shuffle=True),
                  batch_size=4, collate_fn=dict(type='default_collate'))
    return Runner(
        model=_ToyModel(), work_dir=str(work_dir), train_dataloader=loader,
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=Evaluator([_NegMSE()]), val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=epochs, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=[  # a warm-up chain and one of each kind that keeps extra state
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
            dict(type='OneCycleLR', eta_max=0.2, by_epoch=True, begin=0, end=4,
                 convert_to_iter_based=True),
            dict(type='CosineRestartMomentum', periods=[2, 2], restart_weights=[1, 0.5],
                 eta_min=0.8, by_epoch=True, begin=0, end=4),
            dict(type='ReduceOnPlateauLR', monitor='neg_mse', rule='greater', patience=0,
                 by_epoch=True)],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                            save_best='neg_mse', rule='greater'),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='EMAHook'), dict(type='mmpretrain.ResumeStateHook'),
                      dict(type='mmpretrain.NonFiniteGuardHook'),
                      dict(type='mmpretrain.WorkDirLockHook')],
        randomness=dict(seed=0), load_from=resume, resume=resume is not None,
        default_scope='mmengine')


def test_runner_checkpoint_with_every_hook_loads_safely_and_resumes(tmp_path):
    _toy_runner(tmp_path / 'w', 2).train()
    ckpt = tmp_path / 'w' / 'epoch_2.pth'
    needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(str(ckpt)))
    names = {e[1] if isinstance(e, tuple) else f'{e.__module__}.{e.__qualname__}'
             for e in allowed_globals()}
    assert needed <= names, needed - names
    loaded = load_checkpoint_file(str(ckpt))
    assert {'ema_state_dict', 'param_schedulers', 'message_hub', 'optimizer'} <= set(loaded)
    assert 'rng_state' in loaded['meta']
    runner = _toy_runner(tmp_path / 'r', 3, resume=str(ckpt))
    with mmengine_checkpoints(str(ckpt)):
        runner.train()
    assert runner.epoch == 3 and (tmp_path / 'r' / 'epoch_3.pth').is_file()


# ---- malicious pickles that try the newly admitted globals ---------------------------------


class _Reduce:
    """Pickles as ``fn(*args)``."""

    def __init__(self, fn, *args) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


ONE_CYCLE = mmengine_schedulers.OneCycleParamScheduler


@pytest.mark.parametrize('payload, error', [
    (lambda: _Reduce(getattr, ONE_CYCLE, '__init__'), UnsafeCheckpointError),
    (lambda: _Reduce(getattr, ONE_CYCLE, 'step'), UnsafeCheckpointError),
    (lambda: _Reduce(getattr, ONE_CYCLE, '__class__'), UnsafeCheckpointError),
    (lambda: _Reduce(getattr, ONE_CYCLE._annealing_cos, '__globals__'), UnsafeCheckpointError),
    (lambda: _Reduce(ONE_CYCLE, None, 1.0), CheckpointError),  # call the class
    (lambda: _Reduce(getattr, ONE_CYCLE, '__dict__'), UnsafeCheckpointError),
])
def test_pickles_abusing_the_admitted_globals_are_refused(payload, error, tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(dict(meta=dict(x=payload())), path)
    with pytest.raises(error) as e:
        load_checkpoint_file(str(path))
    assert 'refused' in str(e.value) or 'cannot read' in str(e.value)


def test_admitted_function_names_are_only_the_annealing_ones():
    names = {e[1] for e in allowed_globals() if isinstance(e, tuple)}
    scheduler_names = {n for n in names if n.startswith('mmengine.optim')}
    base = 'mmengine.optim.scheduler.param_scheduler.OneCycleParamScheduler'
    assert scheduler_names == {base, f'{base}._annealing_cos', f'{base}._annealing_linear'}
    stand_in = next(e[0] for e in allowed_globals() if isinstance(e, tuple) and e[1] == base)
    assert stand_in is not ONE_CYCLE and not callable(stand_in)
