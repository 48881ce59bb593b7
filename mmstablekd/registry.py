"""Registries used by mmstablekd.

mmstablekd registers every component straight into **mmpretrain's** registry nodes (which are
children of MMEngine's root registries). A config with ``default_scope='mmpretrain'`` -- every
MMPretrain config -- therefore finds ``type='StableKD'``, ``type='KDLoss'``,
``type='StableKDStageHook'`` etc. without a scope prefix, next to mmpretrain's own
``ImageClassifier`` and ``ResNet``. See ``docs/design.md`` for why we chose this over an own
``mmstablekd`` scope.

Importing :mod:`mmstablekd` (or ``custom_imports=dict(imports=['mmstablekd'])`` in a config)
runs the ``register_module`` decorators.

Configs of the installed package (``_base_ = 'mmstablekd::stablekd/resnet18_r34_cifar100.py'``):
MMEngine only follows ``<package>::`` for packages named in its ``MODULE2PACKAGE`` table and tags
every typed dict of such a base with ``_scope_='<package>'``. :func:`register_config_scope`
adds ``mmstablekd`` to that table and gives every mmpretrain registry node an empty child node with
scope ``mmstablekd``; a lookup there falls through to mmpretrain's node, so those dicts build
exactly as they do from a path.
"""
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import Registry
from mmpretrain import registry as _mmpretrain_registry
from mmpretrain.registry import (DATASETS, HOOKS, MODELS, OPTIM_WRAPPERS, PARAM_SCHEDULERS,
                                 TRANSFORMS)

SCOPE = 'mmstablekd'

__all__ = ['DATASETS', 'HOOKS', 'MODELS', 'OPTIM_WRAPPERS', 'PARAM_SCHEDULERS', 'TRANSFORMS',
           'SCOPE', 'register_config_scope']


def register_config_scope() -> None:
    """Make ``mmstablekd::`` config paths and the ``mmstablekd`` scope resolvable (idempotent).

    Adds entries only (a table row, registry nodes); no existing entry or default changes.
    """
    MODULE2PACKAGE.setdefault(SCOPE, SCOPE)
    for node in vars(_mmpretrain_registry).values():
        if isinstance(node, Registry) and node.scope == 'mmpretrain' \
                and SCOPE not in node.children:
            # locations: what MMEngine imports before a lookup in this node (registers ours)
            Registry(node.name, parent=node, scope=SCOPE, locations=[SCOPE])


register_config_scope()
