"""What ``tools/train.py`` and ``tools/test.py`` do: config + CLI flags -> MMEngine Runner."""
import argparse
import copy
import os.path as osp
from typing import List, Optional, Sequence

import mmengine
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmstablekd.engine.hooks.work_dir_lock_hook import take_work_dir_lock
from mmstablekd.utils.checkpoint import (CheckpointError, check_writable, load_checkpoint_file,
                                         mmengine_checkpoints)
from mmstablekd.utils.strict_load import check_checkpoint_file, state_dict_of
from mmstablekd.utils.student_export import STUDENT_PREFIX

from .distributed import prepare_cpu_distributed


def _load_cfg(args: argparse.Namespace) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(args.config)
    return cfg


def default_work_dir(config: str) -> str:
    """``work_dirs/<method>_<name>`` for ``configs/<method>/<name>.py``, else the file name.

    Method folders reuse file names (``configs/kd/resnet18_r34_cifar100.py`` and
    ``configs/stablekd/resnet18_r34_cifar100.py``); mmpretrain's ``work_dirs/<name>`` rule
    would let such runs overwrite each other and ``--resume`` pick up the wrong one.
    """
    path = osp.abspath(config)
    name = osp.splitext(osp.basename(path))[0]
    folder = osp.basename(osp.dirname(path))
    if osp.basename(osp.dirname(osp.dirname(path))) == 'configs' and folder != '_base_':
        name = f'{folder}_{name}'
    return osp.join('./work_dirs', name)


def _merge_cfg_options(cfg: Config, args: argparse.Namespace) -> Config:
    """``--cfg-options`` go in last, so they override what every other flag set (as in
    mmpretrain's tools, e.g. ``--work-dir a --cfg-options work_dir=b`` uses ``b``)."""
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def apply_dataloader_defaults(cfg: Config, fields: Sequence[str], defaults: dict,
                              no_pin_memory: bool = False,
                              no_persistent_workers: bool = False) -> Config:
    """mmpretrain's tools' data loader defaults and the ``--no-pin-memory`` /
    ``--no-persistent-workers`` flags.

    A key the config sets wins over ``defaults``; the flags win over both. One deviation from
    mmpretrain: ``persistent_workers`` defaults to False when ``num_workers`` is 0 (PyTorch
    refuses ``persistent_workers=True`` without workers). Configs whose ``default_scope`` is
    not ``mmpretrain`` (e.g. the mmdet Mask R-CNN configs) keep their loaders: mmdet batches
    with ``pseudo_collate``, so mmpretrain's ``default_collate`` would break them.

    Args:
        cfg (Config): Modified in place.
        fields (Sequence[str]): E.g. ``('train_dataloader', 'val_dataloader')``.
        defaults (dict): Loader keys and their default values.
        no_pin_memory (bool): Force ``pin_memory=False``.
        no_persistent_workers (bool): Force ``persistent_workers=False``.

    Returns:
        Config: ``cfg``.
    """
    use_defaults = cfg.get('default_scope', 'mmpretrain') == 'mmpretrain'
    for field in fields:
        loader = cfg.get(field)
        if loader is None:
            continue
        merged = ConfigDict(copy.deepcopy(defaults) if use_defaults else {})
        merged.update(loader)
        if merged.get('persistent_workers') and not merged.get('num_workers', 0) \
                and 'persistent_workers' not in loader:
            merged.persistent_workers = False
        if no_pin_memory:
            merged.pin_memory = False
        if no_persistent_workers:
            merged.persistent_workers = False
        cfg[field] = merged
    return cfg


TRAIN_LOADER_DEFAULTS = dict(pin_memory=True, persistent_workers=True,
                             collate_fn=dict(type='default_collate'))
TEST_LOADER_DEFAULTS = dict(pin_memory=True, collate_fn=dict(type='default_collate'))


def build_train_cfg(args: argparse.Namespace) -> Config:
    """Merge ``tools/train.py`` flags into the config (mmpretrain 1.2's meaning and order).

    ``--amp`` selects MMEngine's ``AmpOptimWrapper`` (fp16, dynamic loss scale) on CUDA and
    mmstablekd's ``CPUAmpOptimWrapper`` (bf16 autocast) on CPU. ``--resume`` without a path
    resumes from the latest checkpoint of the work dir. The loaders get mmpretrain's defaults
    (:func:`apply_dataloader_defaults`). ``--cfg-options`` are merged last and override all
    of these.
    """
    cfg = _load_cfg(args)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        if torch.cuda.is_available():
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        else:
            cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    apply_dataloader_defaults(cfg, ('train_dataloader', 'val_dataloader', 'test_dataloader'),
                              TRAIN_LOADER_DEFAULTS, args.no_pin_memory,
                              args.no_persistent_workers)
    if not getattr(args, 'no_guards', False):
        added = add_run_guards(cfg)
        if added:
            print_log(f'tools/train.py added the run guards the config lacks: '
                      f'{", ".join(added)} (default_hooks; --no-guards turns this off)',
                      logger='current')
    return _merge_cfg_options(cfg, args)


# default_hooks key -> hook type of the three run guards (mmstablekd.engine.hooks).
RUN_GUARDS = dict(nonfinite_guard='NonFiniteGuardHook', work_dir_lock='WorkDirLockHook',
                  resume_state='ResumeStateHook')


def _hook_cfgs(cfg: Config) -> List[dict]:
    """The hook configs of ``default_hooks`` and ``custom_hooks`` (dicts only)."""
    hooks = list((cfg.get('default_hooks') or {}).values()) + list(cfg.get('custom_hooks') or [])
    return [h for h in hooks if isinstance(h, dict)]


def _hook_name(hook: dict) -> str:
    kind = hook.get('type')
    return kind.rsplit('.', 1)[-1] if isinstance(kind, str) else getattr(kind, '__name__', '')


def add_run_guards(cfg: Config) -> List[str]:
    """Add the run guards a config lacks to its ``default_hooks``: stop at a non-finite loss
    (``NonFiniteGuardHook``), one run per work dir (``WorkDirLockHook``), exact resume
    (``ResumeStateHook``).

    A guard counts as present if a hook of its type is in ``default_hooks`` or
    ``custom_hooks``, or its ``default_hooks`` key is set at all (``None`` switches it off).
    In configs whose ``default_scope`` is not mmpretrain's (e.g. mmdet's) the types get the
    ``mmpretrain.`` prefix, the registry mmstablekd's hooks live in.

    Returns:
        list[str]: The hook types added.
    """
    present = {_hook_name(h) for h in _hook_cfgs(cfg)}
    scope = cfg.get('default_scope', 'mmpretrain')
    prefix = '' if scope in ('mmpretrain', 'mmstablekd') else 'mmpretrain.'
    if cfg.get('default_hooks') is None:
        cfg.default_hooks = ConfigDict()
    added = []
    for key, name in RUN_GUARDS.items():
        if name not in present and key not in cfg.default_hooks:
            cfg.default_hooks[key] = ConfigDict(type=prefix + name)
            added.append(name)
    return added


def run_train(cfg: Config) -> Runner:
    """Build the runner from ``cfg`` and train; returns the runner.

    With ``--launcher pytorch`` on a machine without CUDA, gloo replaces nccl
    (:func:`prepare_cpu_distributed`).
    """
    lock_work_dir_first(cfg)
    runner = Runner.from_cfg(prepare_cpu_distributed(cfg))
    with mmengine_checkpoints(_loaded_file(cfg)):
        runner.train()
    return runner


def lock_work_dir_first(cfg: Config) -> None:
    """Take the work dir's lock before the Runner is built, if the config has a
    ``WorkDirLockHook`` and the run is a single process.

    MMEngine's ``Runner.__init__`` writes into the work dir (a log dir, the config dump)
    long before any hook runs, so a refused second run would already have overwritten
    ``work_dir/<config>.py``. Taken here, a refused run writes nothing. Distributed runs
    (``--launcher`` other than none) keep the hook's lock at ``before_run`` (every rank must
    reach its broadcast).

    Raises:
        WorkDirLockedError: another live run holds the work dir.
    """
    if cfg.get('launcher', 'none') != 'none':
        return
    for hook in _hook_cfgs(cfg):
        if _hook_name(hook) == 'WorkDirLockHook':
            take_work_dir_lock(cfg.work_dir, hook.get('filename', '.train.lock'))
            return


def _loaded_file(cfg: Config) -> str:
    """How to name the checkpoint MMEngine will load, for error messages."""
    if cfg.get('load_from'):
        kind = 'resume' if cfg.get('resume') else 'load_from'
        return f'{kind} checkpoint {cfg.load_from!r}'
    if cfg.get('resume'):
        return f'the latest checkpoint of work_dir {cfg.work_dir!r} (--resume)'
    return 'a checkpoint loaded during the run'


def build_test_cfg(args: argparse.Namespace) -> Config:
    """Merge ``tools/test.py`` flags into the config (mmpretrain 1.2's meaning and order).

    As in mmpretrain: ``--amp`` sets ``test_cfg.fp16``; ``--show``/``--show-dir`` enable the
    config's ``VisualizationHook``; ``--out`` with ``--out-item pred`` adds MMEngine's
    ``DumpResults`` to the evaluators; the test loader gets mmpretrain's defaults;
    ``--cfg-options`` are merged after these and override them.

    Then, reading the merged config: distiller configs are evaluated on their pure student. A
    distillation checkpoint carries the teacher weights itself, so ``model.teacher_ckpt`` is
    not loaded; a student-only checkpoint (keys ``backbone.*`` ..., e.g.
    ``student_epoch_60.pth``, written by the distiller's ``export_student``) is evaluated with
    the model config it carries (a student that keeps deployed projectors) or else the
    config's ``model.student``, so its weights cannot silently fail to match. Last, ``--tta``
    wraps that model in the config's
    ``tta_model`` (default: mmpretrain's ``AverageClsScoreTTA``) over ``tta_pipeline``
    (default: the test pipeline with and without a horizontal flip).
    """
    cfg = _load_cfg(args)
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.setdefault('test_cfg', ConfigDict())['fp16'] = True
    if args.show or args.show_dir is not None:
        _enable_visualization(cfg, args)
    if args.out and resolve_out_item(args.out, args.out_item) == 'pred':
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        cfg.test_evaluator = evaluators + [dict(type='DumpResults', out_file_path=args.out)]
    apply_dataloader_defaults(cfg, ('test_dataloader', ), TEST_LOADER_DEFAULTS,
                              args.no_pin_memory)
    _merge_cfg_options(cfg, args)
    model = cfg.model
    if 'student' in model and 'teacher' in model:
        exported = _exported_student_cfg(cfg.load_from)
        if exported is None:
            model.teacher_ckpt = None
        else:
            cfg.model = exported or model.student
    if args.tta:
        _wrap_tta(cfg)
    return cfg


def resolve_out_item(out: Optional[str], out_item: Optional[str]) -> Optional[str]:
    """What ``tools/test.py --out`` writes: ``'metrics'`` or ``'pred'``.

    As in mmpretrain, ``--out-item`` picks it and needs ``--out``. Without ``--out-item``,
    mmpretrain dumps predictions, which MMEngine's ``DumpResults`` can only pickle; so a
    ``.pkl``/``.pickle`` file gets predictions and any other file (``.json``, ``.yaml``) the
    metrics, the one reading that works for that file type.

    Raises:
        ValueError: ``out_item`` without ``out``, or predictions to a non-pickle file.
    """
    if out is None:
        if out_item is not None:
            raise ValueError('--out-item needs --out (the file to write)')
        return None
    pickle = out.endswith(('.pkl', '.pickle'))
    item = out_item or ('pred' if pickle else 'metrics')
    if item == 'pred' and not pickle:
        raise ValueError(f'--out-item pred writes a pickle (MMEngine DumpResults); --out '
                         f'{out!r} must end with .pkl or .pickle')
    return item


OUT_FORMATS = ('.json', '.yaml', '.yml', '.pkl', '.pickle')


def check_out_file(out: Optional[str]) -> None:
    """Check ``tools/test.py --out`` before anything is evaluated.

    Raises:
        ValueError: an unknown suffix (not one of :data:`OUT_FORMATS`), a directory, a
            missing parent directory, or a directory that refuses new files.
    """
    if out is None:
        return
    if osp.isdir(out):
        raise ValueError(f'--out {out!r} is a directory; give a file name ending with one of '
                         f'{", ".join(OUT_FORMATS)}')
    if not out.lower().endswith(OUT_FORMATS):
        raise ValueError(f'--out {out!r}: unknown format; the file name must end with one of '
                         f'{", ".join(OUT_FORMATS)}')
    parent = osp.dirname(osp.abspath(out))
    if not osp.isdir(parent):
        raise ValueError(f'--out {out!r}: the directory {parent!r} does not exist')
    try:
        check_writable(out, '--out')
    except CheckpointError as e:
        raise ValueError(str(e)) from None


def _enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    vis = cfg.get('default_hooks', {}).get('visualization')
    if vis is None:
        raise ValueError('--show/--show-dir need default_hooks.visualization in the config, '
                         "e.g. default_hooks = dict(visualization=dict(type='VisualizationHook'))"
                         " (mmpretrain's default_runtime.py has it)")
    vis.update(enable=True, show=args.show, wait_time=args.wait_time, out_dir=args.show_dir,
               interval=args.interval)


def _wrap_tta(cfg: Config) -> None:
    """mmpretrain's ``--tta``: the config's ``tta_model``/``tta_pipeline`` or flip averaging."""
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
    if 'tta_pipeline' not in cfg:
        pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
        flips = [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)]
        pipeline[-1] = dict(type='TestTimeAug', transforms=[flips, [pipeline[-1]]])
        cfg.tta_pipeline = pipeline
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def _exported_student_cfg(path: str) -> Optional[dict]:
    """None for a distillation checkpoint (``student.*`` keys); for an exported student (what
    a distiller's ``export_student`` wrote), the model config it carries (``meta['model']``,
    e.g. a student that keeps deployed projectors), or ``{}`` if it is the plain student."""
    checkpoint = load_checkpoint_file(path)
    state = state_dict_of(checkpoint, f'checkpoint {path!r}')
    if any(k.startswith(STUDENT_PREFIX) for k in state):
        return None
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    model = meta.get('model') if isinstance(meta, dict) else None
    return ConfigDict(model) if isinstance(model, dict) else {}


def run_test(cfg: Config, out: Optional[str] = None) -> dict:
    """Build the runner and evaluate; optionally dump the metrics to ``out`` (json).

    The checkpoint must fit the model strictly (no missing, unexpected or shape-mismatched
    keys, see :func:`check_checkpoint_file`); it is checked before anything is evaluated.
    """
    runner = Runner.from_cfg(prepare_cpu_distributed(cfg))
    if cfg.get('load_from'):
        check_checkpoint_file(runner.model, cfg.load_from, "the config's model")
    with mmengine_checkpoints(_loaded_file(cfg)):
        metrics = runner.test()
    if out:
        if is_main_process():  # one writer under DDP; format from the suffix (json/yaml/pkl)
            mmengine.dump({k: float(v) for k, v in metrics.items()}, out)
    return metrics
