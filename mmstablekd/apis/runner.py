"""What ``tools/train.py`` and ``tools/test.py`` do: config + CLI flags -> MMEngine Runner."""
import argparse
import json
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmstablekd.utils.checkpoint import load_checkpoint_file, mmengine_checkpoints
from mmstablekd.utils.strict_load import check_checkpoint_file, state_dict_of
from mmstablekd.utils.student_export import STUDENT_PREFIX

from .distributed import prepare_cpu_distributed


def _load_cfg(args: argparse.Namespace) -> Config:
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
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


def build_train_cfg(args: argparse.Namespace) -> Config:
    """Merge ``tools/train.py`` flags into the config (mmpretrain's semantics).

    ``--amp`` selects MMEngine's ``AmpOptimWrapper`` (fp16, dynamic loss scale) on CUDA and
    mmstablekd's ``CPUAmpOptimWrapper`` (bf16 autocast) on CPU. ``--resume`` without a path
    resumes from the latest checkpoint of the work dir.
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
    return cfg


def run_train(cfg: Config) -> Runner:
    """Build the runner from ``cfg`` and train; returns the runner.

    With ``--launcher pytorch`` on a machine without CUDA, gloo replaces nccl
    (:func:`prepare_cpu_distributed`).
    """
    runner = Runner.from_cfg(prepare_cpu_distributed(cfg))
    with mmengine_checkpoints(_loaded_file(cfg)):
        runner.train()
    return runner


def _loaded_file(cfg: Config) -> str:
    """How to name the checkpoint MMEngine will load, for error messages."""
    if cfg.get('load_from'):
        kind = 'resume' if cfg.get('resume') else 'load_from'
        return f'{kind} checkpoint {cfg.load_from!r}'
    if cfg.get('resume'):
        return f'the latest checkpoint of work_dir {cfg.work_dir!r} (--resume)'
    return 'a checkpoint loaded during the run'


def build_test_cfg(args: argparse.Namespace) -> Config:
    """Merge ``tools/test.py`` flags into the config.

    Distiller configs are evaluated on their pure student. A distillation checkpoint carries
    the teacher weights itself, so ``model.teacher_ckpt`` is not loaded; a student-only
    checkpoint (keys ``backbone.*`` ..., e.g. ``student_epoch_60.pth``) is evaluated with the
    config's ``model.student`` so its weights cannot silently fail to match.
    """
    cfg = _load_cfg(args)
    cfg.load_from = args.checkpoint
    model = cfg.model
    if 'student' in model and 'teacher' in model:
        if _is_student_only(args.checkpoint):
            student = model.student
            cfg.model = student
        else:
            model.teacher_ckpt = None
    return cfg


def _is_student_only(path: str) -> bool:
    state = state_dict_of(load_checkpoint_file(path), f'checkpoint {path!r}')
    return not any(k.startswith(STUDENT_PREFIX) for k in state)


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
        with open(out, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    return metrics
