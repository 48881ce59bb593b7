"""OneCycle configs cycle the momentum like PyTorch's OneCycleLR (0.95 -> 0.85 -> 0.95)."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim.scheduler.param_scheduler import INF

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.registry import PARAM_SCHEDULERS
from conftest import REPO

ONE_CYCLE_CONFIGS = [
    'configs/stablekd/resnet18_r34_cifar100_5-0.py',
    'configs/stablekd/resnet18_r34_cifar100_3-0.py',
    'configs/stablekd/resnet18_r34_cifar100_1-0.py',
    'configs/stablekd/resnet18_r34_cifar100_kd-mse.py',
    'configs/kd/resnet18_r34_cifar100.py',
    'configs/quickstart/kd_r18_r34_digits.py',
    'configs/quickstart/student_r18_digits.py',
    'configs/quickstart/stablekd_5-0_r18_r34_digits.py',
    'configs/quickstart/stablekd_1-0_r18_r34_digits.py',
    'configs/quickstart/dist_r18_r34_digits.py',
]


def build_schedulers(schedulers, optimizer, epochs: int, epoch_length: int):
    """What MMEngine's Runner does with an epoch-based, iteration-converted list."""
    built = []
    for cfg in copy.deepcopy(list(schedulers)):
        cfg = dict(cfg)
        cls = PARAM_SCHEDULERS.get(cfg.pop('type'))
        assert cfg.pop('convert_to_iter_based') is True and cfg.pop('by_epoch') is True
        built.append(cls.build_iter_from_epoch(optimizer, begin=0, end=epochs, by_epoch=True,
                                               epoch_length=epoch_length, **cfg))
    return built


def values(optimizer, schedulers, steps: int):
    out = []
    for _ in range(steps):
        group = optimizer.param_groups[0]
        out.append((group['lr'], group['momentum']))
        optimizer.step()
        for s in schedulers:
            s.step()
    return out


@pytest.mark.parametrize('config', ONE_CYCLE_CONFIGS)
@pytest.mark.parametrize('epochs,epoch_length', [(3, 7), (10, 13)])
def test_momentum_and_lr_equal_pytorch_one_cycle(config, epochs, epoch_length):
    cfg = Config.fromfile(str(REPO / config))
    schedulers = cfg.param_scheduler
    assert [s['type'] for s in schedulers] == ['OneCycleLR', 'OneCycleMomentum']
    opt_cfg = cfg.optim_wrapper.optimizer
    ours = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=opt_cfg.lr,
                           momentum=opt_cfg.momentum)
    built = build_schedulers(schedulers, ours, epochs, epoch_length)
    theirs = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=opt_cfg.lr,
                             momentum=opt_cfg.momentum)
    total = epochs * epoch_length
    ref = torch.optim.lr_scheduler.OneCycleLR(  # PyTorch's defaults, DnD's max LR
        theirs, max_lr=schedulers[0]['eta_max'], total_steps=total)
    got, expected = values(ours, built, total), values(theirs, [ref], total)
    assert [m for _, m in got] == pytest.approx([m for _, m in expected], abs=1e-12)
    assert [lr for lr, _ in got] == pytest.approx([lr for lr, _ in expected], rel=1e-9)
    momenta = [m for _, m in got]
    # 0.95 -> 0.85 (reached exactly only when pct_start * T is an integer) -> 0.95
    assert momenta[0] == pytest.approx(0.95) and 0.85 <= min(momenta) < 0.851
    assert momenta[-1] == pytest.approx(0.95)


def test_linear_strategy_and_bad_arguments():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    cls = PARAM_SCHEDULERS.get('OneCycleMomentum')
    sched = cls(opt, anneal_strategy='linear', begin=0, end=20, by_epoch=False)
    ref_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=1.0, total_steps=20,
                                              anneal_strategy='linear')
    got, expected = values(opt, [sched], 20), values(ref_opt, [ref], 20)
    assert [m for _, m in got] == pytest.approx([m for _, m in expected], abs=1e-12)
    for kwargs, match in [(dict(base_momentum=0.96), 'base_momentum <= max_momentum'),
                          (dict(pct_start=1.0), 'pct_start'),
                          (dict(anneal_strategy='exp'), 'anneal_strategy'),
                          (dict(end=INF), 'finite `end`')]:
        with pytest.raises(ValueError, match=match):
            cls(opt, **dict(dict(begin=0, end=20, by_epoch=False), **kwargs))
