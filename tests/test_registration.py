"""Importing mmstablekd registers every component into mmpretrain's registries, configs
find them under default_scope='mmpretrain', and every registered component is used by a
config under configs/."""
import inspect
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import mmstablekd
from mmstablekd import registry

REPO = Path(__file__).resolve().parents[1]
REGISTRIES = [registry.MODELS, registry.HOOKS, registry.PARAM_SCHEDULERS, registry.DATASETS,
              registry.OPTIM_WRAPPERS, registry.TRANSFORMS]


def our_components():
    return sorted((reg.name, name) for reg in REGISTRIES
                  for name, cls in reg.module_dict.items()
                  if inspect.getmodule(cls).__name__.startswith('mmstablekd'))


def test_core_components_are_in_mmpretrain_scope():
    names = {n for _, n in our_components()}
    assert {'StableKD', 'KDLoss', 'FeatureMSELoss', 'StableKDStageHook', 'StageCyclicLR',
            'StudentCheckpointHook', 'CPUAmpOptimWrapper'} <= names
    assert all(reg.scope == 'mmpretrain' for reg in REGISTRIES)


@pytest.mark.parametrize('component', our_components(), ids=lambda c: c[1])
def test_every_registered_component_is_used_by_a_config(component):
    texts = [p.read_text() for p in (REPO / 'configs').rglob('*.py')]
    name = component[1]
    assert any(f"'{name}'" in t or f'"{name}"' in t for t in texts), \
        f'{component} is registered but no config under configs/ uses it'


def test_runner_from_cfg_builds_the_distiller(data_override, tmp_path):
    cfg = Config.fromfile(data_override('configs/stablekd/resnet18_r34_cifar100.py'))
    cfg.model.teacher_ckpt = None
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    assert isinstance(runner.model, mmstablekd.models.StableKD)
    assert type(runner.model.student).__name__ == 'ImageClassifier'
    assert [type(h).__name__ for h in runner.hooks].count('StableKDStageHook') == 1
    runner.model.train()
    assert runner.model.student.training and not runner.model.teacher.training
