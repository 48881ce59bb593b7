"""The paper-ablation configs (StableKD Fig. 3, Tables 4 and 5) build at full size and carry
the recipes they claim: OneCycleLR with max LR 0.5 for k/0, 0.1 for the comparison schemes,
both with PyTorch's OneCycle momentum cycle (OneCycleMomentum, checked value by value in
test_one_cycle_momentum.py), the per-stage cyclic LR and momentum for k/n."""
import pytest
from mmengine.config import Config

from conftest import REPO
from test_arch_configs import build


def scheduler_types(cfg):
    return [s['type'] for s in cfg.param_scheduler]


@pytest.mark.parametrize('config,boundaries,partition', [
    ('resnet18_r34_cifar100_5-0.py', 4, '{1}{2}{3}{4}{5}'),  # Table 5 row 5/0, Fig. 3
    ('resnet18_r34_cifar100_3-0.py', 2, '{1}{2}{3}'),        # Fig. 3
    ('resnet18_r34_cifar100_1-0.py', 0, '{1}'),              # Fig. 3 (= vanilla KD)
])
def test_k_0_configs_use_dnd_onecycle_at_max_lr_0_5(config, boundaries, partition):
    cfg, model = build(f'configs/stablekd/{config}')
    assert model.num_stages == 1 and len(model.boundaries) == boundaries
    assert model.partition_str(0) == partition
    assert scheduler_types(cfg) == ['OneCycleLR', 'OneCycleMomentum']
    sched = cfg.param_scheduler[0]
    assert sched.eta_max == 0.5 == 10 * cfg.optim_wrapper.optimizer.lr  # DnD Table 5
    assert (sched.pct_start, sched.anneal_strategy, sched.div_factor,
            sched.final_div_factor) == (0.3, 'cos', 25, 1e4)  # PyTorch defaults
    assert sched.convert_to_iter_based and cfg.train_cfg.max_epochs == 60
    assert cfg.work_dir == f"./work_dirs/stablekd_{config[:-3]}"


def test_kd_mse_config_is_table_4():
    cfg, model = build('configs/stablekd/resnet18_r34_cifar100_kd-mse.py')
    assert model.feed_teacher_features is False and model.num_stages == 1
    assert len(model.active_boundaries) == 4 and model.deploy_boundaries == ()
    assert scheduler_types(cfg) == ['OneCycleLR', 'OneCycleMomentum']
    assert cfg.param_scheduler[0].eta_max == 0.1  # the comparison schemes' max LR


def test_kd_baseline_is_onecycle_at_max_lr_0_1():
    cfg = Config.fromfile(REPO / 'configs/kd/resnet18_r34_cifar100.py')
    assert scheduler_types(cfg) == ['OneCycleLR', 'OneCycleMomentum']
    assert cfg.param_scheduler[0].eta_max == 0.1
    assert cfg.optim_wrapper.optimizer.lr == 0.01  # DnD Table 5, "other approaches"


@pytest.mark.parametrize('config', ['stablekd/resnet18_r34_cifar100.py',
                                    'stablekd/resnet18_r34_cifar100_3-1.py',
                                    'stablekd/wrn16-8_wrn16-10_cifar100.py'])
def test_k_n_configs_cycle_lr_and_momentum_per_stage(config):
    cfg, model = build(f'configs/{config}')
    assert scheduler_types(cfg) == ['StageCyclicLR', 'StageCyclicMomentum']
    lr, mom = cfg.param_scheduler
    assert lr.num_stages == mom.num_stages == model.num_stages
    assert (mom.base_momentum, mom.max_momentum) == (0.8, 0.9)  # PyTorch CyclicLR defaults
    assert lr.convert_to_iter_based and mom.convert_to_iter_based


def test_deploy_config_is_what_the_heterogeneous_run_exports():
    from mmstablekd.registry import MODELS
    cfg, model = build('configs/stablekd/resnet18-w32_r34_cifar100.py')
    assert model.partition_str(2) == '{1234}{5}' and model.deploy_boundaries == (3, )
    exported = model.student_deploy()['model']  # what the distiller exports
    deploy = Config.fromfile(REPO / 'configs/stablekd/resnet18-w32_r34_cifar100_deploy.py')
    assert deploy.model.to_dict() == Config(dict(model=exported)).model.to_dict()
    plain = MODELS.build(deploy.model)
    n = sum(p.numel() for p in plain.parameters())
    assert n == sum(p.numel() for p in model.student.parameters()) + sum(
        p.numel() for p in model.projectors['3'].parameters())
