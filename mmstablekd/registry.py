"""Registries used by mmstablekd.

mmstablekd registers every component straight into **mmpretrain's** registry nodes (which are
children of MMEngine's root registries). A config with ``default_scope='mmpretrain'`` -- every
MMPretrain config -- therefore finds ``type='StableKD'``, ``type='KDLoss'``,
``type='StableKDStageHook'`` etc. without a scope prefix, next to mmpretrain's own
``ImageClassifier`` and ``ResNet``. See ``docs/design.md`` for why we chose this over an own
``mmstablekd`` scope.

Importing :mod:`mmstablekd` (or ``custom_imports=dict(imports=['mmstablekd'])`` in a config)
runs the ``register_module`` decorators.
"""
from mmpretrain.registry import (DATASETS, HOOKS, MODELS, OPTIM_WRAPPERS, PARAM_SCHEDULERS,
                                 TRANSFORMS)

__all__ = ['DATASETS', 'HOOKS', 'MODELS', 'OPTIM_WRAPPERS', 'PARAM_SCHEDULERS', 'TRANSFORMS']
