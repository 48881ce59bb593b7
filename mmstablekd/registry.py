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
from mmengine.registry import root as _mmengine_root
from mmpretrain import registry as _mmpretrain_registry
from mmpretrain.registry import (DATASETS, HOOKS, MODELS, OPTIM_WRAPPERS, PARAM_SCHEDULERS,
                                 TRANSFORMS)

SCOPE = 'mmstablekd'

__all__ = ['DATASETS', 'HOOKS', 'MODELS', 'OPTIM_WRAPPERS', 'PARAM_SCHEDULERS', 'TRANSFORMS',
           'SCOPE', 'register_config_scope']


class _ScopeAlias(Registry):
    """A registry node of scope ``mmstablekd`` that only falls through to its parent.

    MMEngine imports a node's ``locations`` lazily, when that node is asked for a name, and a
    child's lookup walks its ancestors' tables without importing their locations. This node
    therefore imports its ancestors' locations as well: a name such as mmpretrain's
    ``CustomDataset`` resolves here even when nothing has imported ``mmpretrain.datasets`` yet.
    """

    def import_from_location(self) -> None:
        """Import this node's locations, then every ancestor's."""
        super().import_from_location()
        if self.parent is not None:
            self.parent.import_from_location()


def register_config_scope() -> None:
    """Make ``mmstablekd::`` config paths and the ``mmstablekd`` scope resolvable (idempotent).

    Every mmpretrain registry node gets a :class:`_ScopeAlias` child of scope ``mmstablekd``;
    every MMEngine root registry that mmpretrain has no node for (e.g. ``FUNCTIONS``,
    ``INFERENCERS``) gets one directly. Adds entries only (a table row, registry nodes); no
    existing entry or default changes.
    """
    MODULE2PACKAGE.setdefault(SCOPE, SCOPE)
    covered = set()
    for node in vars(_mmpretrain_registry).values():
        if isinstance(node, Registry) and node.scope == 'mmpretrain':
            _add_alias(node)
            covered.add(id(node.parent))
    for root in vars(_mmengine_root).values():
        if isinstance(root, Registry) and root.parent is None and id(root) not in covered:
            _add_alias(root)


def _add_alias(node: Registry) -> None:
    if SCOPE not in node.children:
        # locations: what MMEngine imports before a lookup in this node (registers ours)
        _ScopeAlias(node.name, parent=node, scope=SCOPE, locations=[SCOPE])


register_config_scope()
