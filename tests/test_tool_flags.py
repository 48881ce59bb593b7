"""tools/train.py and tools/test.py take mmpretrain 1.2's flags with its meaning and order:
each flag's effect on the built config, and ``--cfg-options`` merged last (issue 13, item 3)."""
import os

import pytest

from conftest import REPO, load_tool

TEACHER = 'configs/teachers/resnet34_cifar100.py'  # an mmpretrain ImageClassifier config


TRAIN, TEST = load_tool('train'), load_tool('test')


def built_train_cfg(*argv):
    from mmstablekd.apis.runner import build_train_cfg
    return build_train_cfg(TRAIN.parse_args([str(REPO / TEACHER), *argv]))


def built_test_cfg(*argv):
    from mmstablekd.apis.runner import build_test_cfg
    return build_test_cfg(TEST.parse_args([str(REPO / TEACHER), 'missing.pth', *argv]))


def test_train_flags_set_what_mmpretrain_sets():
    cfg = built_train_cfg()
    assert cfg.work_dir == './work_dirs/teachers_resnet34_cifar100'  # the config's own
    assert cfg.launcher == 'none' and 'type' not in cfg.optim_wrapper  # OptimWrapper
    loader = cfg.train_dataloader  # mmpretrain's loader defaults; num_workers=2 in the config
    assert loader.pin_memory and loader.persistent_workers and loader.num_workers == 2
    assert loader.collate_fn == dict(type='default_collate')
    cfg = built_train_cfg('--work-dir', 'w', '--amp', '--no-validate', '--auto-scale-lr',
                          '--resume', '--no-pin-memory', '--no-persistent-workers')
    assert cfg.work_dir == 'w'
    assert cfg.optim_wrapper.type in ('AmpOptimWrapper', 'CPUAmpOptimWrapper')
    assert cfg.val_cfg is None and cfg.val_dataloader is None and cfg.val_evaluator is None
    assert cfg.auto_scale_lr.enable is True
    assert cfg.resume is True and cfg.load_from is None
    for key in ('train_dataloader', 'test_dataloader'):
        assert cfg[key].pin_memory is False and cfg[key].persistent_workers is False
    cfg = built_train_cfg('--resume', 'some/epoch_3.pth')
    assert cfg.resume is True and cfg.load_from == 'some/epoch_3.pth'


def test_train_cfg_options_are_merged_last():
    cfg = built_train_cfg('--work-dir', 'w', '--amp', '--no-pin-memory', '--resume', 'a.pth',
                          '--cfg-options', 'work_dir=x', 'optim_wrapper.type=OptimWrapper',
                          'train_dataloader.pin_memory=True', 'load_from=b.pth')
    assert cfg.work_dir == 'x' and cfg.optim_wrapper.type == 'OptimWrapper'
    assert cfg.train_dataloader.pin_memory is True and cfg.test_dataloader.pin_memory is False
    assert cfg.load_from == 'b.pth'


def test_loader_defaults_respect_the_config_and_torch():
    from mmengine.config import Config
    from mmstablekd.apis.runner import TRAIN_LOADER_DEFAULTS, apply_dataloader_defaults
    cfg = Config(dict(train_dataloader=dict(num_workers=0, batch_size=2),
                      val_dataloader=dict(num_workers=0, pin_memory=False),
                      test_dataloader=None))
    apply_dataloader_defaults(cfg, ('train_dataloader', 'val_dataloader', 'test_dataloader'),
                              TRAIN_LOADER_DEFAULTS)
    # torch refuses persistent workers without workers; the config's own keys win
    assert cfg.train_dataloader.persistent_workers is False and cfg.train_dataloader.pin_memory
    assert cfg.val_dataloader.pin_memory is False and cfg.test_dataloader is None
    # an mmdet config keeps its pseudo_collate loaders; the flags still apply
    det = Config(dict(default_scope='mmdet', train_dataloader=dict(num_workers=2)))
    apply_dataloader_defaults(det, ('train_dataloader', ), TRAIN_LOADER_DEFAULTS,
                              no_pin_memory=True)
    assert det.train_dataloader == dict(num_workers=2, pin_memory=False)


def test_launcher_and_local_rank(monkeypatch):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    args = TRAIN.parse_args([TEACHER, '--launcher', 'pytorch', '--local-rank', '3'])
    assert args.launcher == 'pytorch' and os.environ['LOCAL_RANK'] == '3'
    assert TEST.parse_args([TEACHER, 'c.pth', '--local_rank', '1']).local_rank == 1


def test_test_flags_set_what_mmpretrain_sets(tmp_path):
    cfg = built_test_cfg()
    assert cfg.load_from == 'missing.pth' and cfg.test_dataloader.pin_memory is True
    assert cfg.test_dataloader.collate_fn == dict(type='default_collate')
    pipeline = cfg.test_dataloader.dataset.pipeline
    cfg = built_test_cfg('--amp', '--show-dir', str(tmp_path / 'vis'), '--interval', '3',
                         '--wait-time', '0.5', '--no-pin-memory', '--tta', '--work-dir', 'w')
    assert cfg.test_cfg.fp16 is True and cfg.work_dir == 'w'
    vis = cfg.default_hooks.visualization
    assert vis.enable and not vis.show and vis.out_dir == str(tmp_path / 'vis')
    assert vis.interval == 3 and vis.wait_time == 0.5
    assert cfg.test_dataloader.pin_memory is False
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module.type == 'ImageClassifier'
    tta = cfg.test_dataloader.dataset.pipeline
    assert tta[:-1] == pipeline[:-1] and tta[-1].type == 'TestTimeAug'
    assert [t.prob for t in tta[-1].transforms[0]] == [1.0, 0.0]


def test_test_out_item_and_cfg_options_last():
    from mmstablekd.apis.runner import resolve_out_item
    def evaluators(*argv):
        found = built_test_cfg(*argv).test_evaluator
        return [dict(e) for e in (found if isinstance(found, list) else [found])]

    dump = dict(type='DumpResults', out_file_path='p.pkl')
    assert evaluators('--out', 'p.pkl')[-1] == dump  # mmpretrain's default: predictions
    assert dump not in evaluators('--out', 'p.pkl', '--out-item', 'metrics')
    assert evaluators('--out', 'm.json') == evaluators()
    assert resolve_out_item('m.json', None) == 'metrics'
    assert resolve_out_item('p.pickle', None) == 'pred'
    with pytest.raises(ValueError, match='--out-item needs --out'):
        resolve_out_item(None, 'metrics')
    with pytest.raises(ValueError, match=r'must end with \.pkl'):
        resolve_out_item('m.json', 'pred')
    cfg = built_test_cfg('--amp', '--work-dir', 'w', '--no-pin-memory', '--cfg-options',
                         'test_cfg.fp16=False', 'work_dir=x', 'test_dataloader.pin_memory=True')
    assert cfg.test_cfg.fp16 is False and cfg.work_dir == 'x'
    assert cfg.test_dataloader.pin_memory is True


def test_show_without_visualization_hook_is_a_clear_error(tmp_path):
    cfg = tmp_path / 'novis.py'
    cfg.write_text(f'_base_ = [{str(REPO / TEACHER)!r}]\n'
                   'default_hooks = dict(visualization=None)\n')
    from mmstablekd.apis.runner import build_test_cfg
    with pytest.raises(ValueError, match='default_hooks.visualization'):
        build_test_cfg(TEST.parse_args([str(cfg), 'c.pth', '--show']))


# ---- run guards (issue 20, item 6) ------------------------------------------------------

GUARDS = {'nonfinite_guard': 'NonFiniteGuardHook', 'work_dir_lock': 'WorkDirLockHook',
          'resume_state': 'ResumeStateHook'}


def _mmpretrain_config_without_guards(tmp_path) -> str:
    """mmpretrain's own CIFAR ResNet-18 recipe, unmodified: it has none of the guards."""
    path = tmp_path / 'user.py'
    path.write_text("_base_ = ['mmpretrain::resnet/resnet18_8xb16_cifar10.py']\n")
    return str(path)


def test_train_py_adds_the_run_guards_a_config_lacks(tmp_path):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import HOOKS

    from mmstablekd.apis.runner import build_train_cfg
    user = _mmpretrain_config_without_guards(tmp_path)
    cfg = build_train_cfg(TRAIN.parse_args([user]))
    assert {k: cfg.default_hooks[k].type for k in GUARDS} == GUARDS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        built = [HOOKS.build(cfg.default_hooks[k]) for k in GUARDS]
    assert [type(h).__name__ for h in built] == list(GUARDS.values())
    off = build_train_cfg(TRAIN.parse_args([user, '--no-guards']))
    assert not set(GUARDS) & set(off.default_hooks)
    # a config that has a guard keeps its own settings; None keeps one switched off
    cfg = build_train_cfg(TRAIN.parse_args([
        user, '--cfg-options', 'default_hooks.nonfinite_guard.enabled=False']))
    assert cfg.default_hooks.nonfinite_guard.enabled is False
    own = tmp_path / 'own.py'
    own.write_text(f"_base_ = [{user!r}]\n"
                   "default_hooks = dict(resume_state=None)\n"
                   "custom_hooks = [dict(type='NonFiniteGuardHook', enabled=False)]\n")
    cfg = build_train_cfg(TRAIN.parse_args([str(own)]))
    assert cfg.default_hooks.resume_state is None and 'nonfinite_guard' not in cfg.default_hooks
    assert cfg.default_hooks.work_dir_lock.type == 'WorkDirLockHook'


@pytest.mark.parametrize('name', sorted(p.name for p in (REPO / 'configs/mask_rcnn').glob('*.py')))
def test_mask_rcnn_configs_have_the_run_guards_in_mmdet_scope(name):
    pytest.importorskip('mmcv._ext', reason="mmdet's hooks need full mmcv (not mmcv-lite)")
    from mmdet.registry import HOOKS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.utils import import_modules_from_strings

    from mmstablekd.apis.runner import add_run_guards
    from mmstablekd.engine.hooks import NonFiniteGuardHook, ResumeStateHook, WorkDirLockHook
    cfg = Config.fromfile(str(REPO / 'configs/mask_rcnn' / name))
    assert cfg.default_scope == 'mmdet' and 'mmstablekd' in cfg.custom_imports.imports
    import_modules_from_strings(cfg.custom_imports.imports)
    assert add_run_guards(cfg) == []  # nothing for tools/train.py to add
    with DefaultScope.overwrite_default_scope('mmdet'):  # as mmdet's own train.py builds them
        built = [HOOKS.build(cfg.default_hooks[k]) for k in GUARDS]
    assert [type(h) for h in built] == [NonFiniteGuardHook, WorkDirLockHook, ResumeStateHook]
