"""SSKD recipes on real CIFAR-shaped data: the packaged digits at 32x32, 3 channels, on CPU.

For every SSKD config (configs/sskd/*.py: the R-34 -> R-18 paper config and the five CRD
pairs) this script

1. trains a teacher of the config's own teacher architecture on the digits (a short cosine
   run, SGD Nesterov momentum 0.9, LR ``--teacher-lr``);
2. runs the config's SSKD recipe unchanged (stage loss and its reduction, per-phase LR,
   momentum, LR steps at 30/60/90 % of every phase, head phase), with the student and teacher
   heads set to 10 classes, the digits data at 32x32, and ``--phase-epochs`` epochs per phase;
3. reports, per phase, whether every logged stage loss is finite, its mean over the first and
   the last 10 % of the phase's iterations (falls = last < first), and the final top-1.

    PYTHONPATH=$PWD python benchmarks/sskd_digits.py --out work_dirs/sskd_digits.json
    PYTHONPATH=$PWD python benchmarks/sskd_digits.py --configs resnet18_r34_cifar100 \\
        --width-div resnet18_r34_cifar100=4 --reduction sum   # the paper's formula instead

Writes a JSON file with the per-iteration losses and prints a Markdown table.
Not a test: it takes minutes per config on a CPU.
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import time
import warnings
from typing import Dict, List, Optional, Tuple

os.environ.setdefault('OMP_NUM_THREADS', '1')
warnings.filterwarnings('ignore')

import torch  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmstablekd.datasets.digits import write_digits_dataset  # noqa: E402

CONFIGS = ['resnet18_r34_cifar100', 'resnet20_r56_cifar100', 'resnet32_r110_cifar100',
           'resnet8x4_r32x4_cifar100', 'vgg8_vgg13_cifar100', 'wrn16-2_wrn40-2_cifar100']
SIZE = 32
PREPROCESSOR = dict(type='ClsDataPreprocessor', num_classes=10, mean=[77.85] * 3,
                    std=[95.85] * 3, to_rgb=False)


def digits_loaders(root: str, batch_size: int, fraction: float = 1.0) -> Dict[str, dict]:
    """Train/val dataloader configs of the digits folder at SIZE x SIZE (3-channel PNG);
    training on a class-balanced ``fraction`` of the training split (selection seed 0)."""
    resize = dict(type='Resize', scale=(SIZE, SIZE), interpolation='bilinear')
    train = [dict(type='LoadImageFromFile'), resize,
             dict(type='RandomCrop', crop_size=SIZE, padding=4), dict(type='PackInputs')]
    test = [dict(type='LoadImageFromFile'), resize, dict(type='PackInputs')]

    def loader(split, pipeline, bs, shuffle):
        return dict(batch_size=bs, num_workers=0, persistent_workers=False,
                    dataset=dict(type='CustomDataset', data_root=root, data_prefix=split,
                                 pipeline=pipeline),
                    sampler=dict(type='DefaultSampler', shuffle=shuffle))

    train_loader = loader('train', train, batch_size, True)
    if fraction < 1:
        train_loader['dataset'] = dict(type='ClassBalancedSubset', fraction=fraction, seed=0,
                                       dataset=train_loader['dataset'])
    return dict(train_dataloader=train_loader,
                val_dataloader=loader('test', test, 180, False),
                test_dataloader=loader('test', test, 180, False))


STAGE_OUT = {'ResNet_CIFAR': 8, 'CifarResNet': 4}  # last stage width / base_channels


def ten_classes(classifier: dict, width_div: int = 1) -> dict:
    """A copy of a classifier config with a 10-class head, ResNet widths divided by
    ``width_div`` (only ResNet_CIFAR / CifarResNet; 1 keeps the config's architecture)."""
    classifier = copy.deepcopy(classifier)
    classifier['head']['num_classes'] = 10
    backbone = classifier['backbone']
    if width_div > 1:
        if backbone['type'] not in STAGE_OUT:
            raise ValueError(f"--width-div supports {sorted(STAGE_OUT)}, not {backbone['type']}")
        defaults = (64, 64) if backbone['type'] == 'ResNet_CIFAR' else (16, 16)
        stem = backbone.get('stem_channels', defaults[0]) // width_div
        base = backbone.get('base_channels', defaults[1]) // width_div
        backbone.update(stem_channels=stem, base_channels=base)
        classifier['head']['in_channels'] = base * STAGE_OUT[backbone['type']]
    return classifier


class LossRecorder(Hook):
    """Keep (phase, log vars) of every training iteration."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.rows: List[dict] = []
        self.top1: List[float] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        row = {k: float(v) for k, v in (outputs or {}).items() if k.startswith('loss')}
        row['phase'] = int(getattr(model, 'stage', -1))
        row['lr'] = float(runner.optim_wrapper.get_lr()['lr'][0])
        self.rows.append(row)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if metrics and 'accuracy/top1' in metrics:
            self.top1.append(float(metrics['accuracy/top1']))


def common_cfg(work_dir: str, loaders: dict, seed: int) -> dict:
    return dict(
        default_scope='mmpretrain', custom_imports=dict(imports=['mmstablekd']),
        work_dir=work_dir, randomness=dict(seed=seed), log_level='WARNING',
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'),
                     mp_cfg=dict(mp_start_method='fork')),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=-1, save_last=True),
                           logger=dict(type='LoggerHook', interval=1000)),
        val_evaluator=dict(type='Accuracy', topk=(1, )),
        test_evaluator=dict(type='Accuracy', topk=(1, )),
        val_cfg=dict(), test_cfg=dict(), **loaders)


def train_teacher(arch: dict, work_dir: str, loaders: dict, epochs: int, lr: float,
                  seed: int, width_div: int = 1) -> Tuple[str, float]:
    """Train ``arch`` (10 classes) on the digits; returns (checkpoint, top-1 %)."""
    ckpt = osp.join(work_dir, f'epoch_{epochs}.pth')
    cfg = Config(dict(
        common_cfg(work_dir, loaders, seed),
        model=dict(ten_classes(arch, width_div), data_preprocessor=PREPROCESSOR),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9,
                                          weight_decay=5e-4, nesterov=True)),
        # cosine, not OneCycleLR: MMEngine's OneCycle state pickles a function, which the
        # safe teacher-checkpoint loader (rightly) refuses
        param_scheduler=[dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True,
                              convert_to_iter_based=True)],
        train_cfg=dict(by_epoch=True, max_epochs=epochs, val_interval=epochs)))
    recorder = LossRecorder()
    if osp.isfile(ckpt) and osp.isfile(ckpt + '.top1'):
        with open(ckpt + '.top1') as f:
            return ckpt, float(f.read())
    runner = Runner.from_cfg(cfg)
    runner.register_hook(recorder)
    runner.train()
    with open(ckpt + '.top1', 'w') as f:
        f.write(str(recorder.top1[-1]))
    return ckpt, recorder.top1[-1]


def sskd_cfg(name: str, teacher_ckpt: str, work_dir: str, loaders: dict, phase_epochs: int,
             seed: int, reduction: Optional[str], lr: Optional[float],
             width_div: int = 1) -> Config:
    """The config's SSKD recipe on the digits, ``phase_epochs`` epochs per phase."""
    cfg = Config.fromfile(osp.join('configs', 'sskd', name + '.py'))
    model = cfg.model
    model.student = ten_classes(model.student, width_div)
    model.teacher = ten_classes(model.teacher, width_div)
    model.teacher_ckpt = teacher_ckpt
    model.data_preprocessor = PREPROCESSOR
    cfg.pop('data_preprocessor', None)
    if reduction is not None:
        model.stage_loss.reduction = reduction
    if lr is not None:
        cfg.optim_wrapper.optimizer.lr = lr
    phases = len(model.boundaries) + 1 if model.get('boundaries') else cfg.num_phases
    cfg.train_cfg = ConfigDict(by_epoch=True, max_epochs=phases * phase_epochs,
                               val_interval=phases * phase_epochs)
    base = common_cfg(work_dir, loaders, seed)
    for key in ('work_dir', 'randomness', 'log_level', 'default_hooks', 'env_cfg',
                'train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key] = base[key]
    cfg.default_hooks.nonfinite_guard = dict(type='NonFiniteGuardHook')
    cfg.pop('model_wrapper_cfg', None)
    return cfg


def phase_report(rows: List[dict]) -> List[dict]:
    """Per phase: its loss key, finiteness, first/last-10 % means and whether it fell."""
    out = []
    for phase in sorted({r['phase'] for r in rows}):
        its = [r for r in rows if r['phase'] == phase]
        key = next((k for k in its[0] if k.startswith('loss_stage')), 'loss_cls')
        values = [r.get(key, float('nan')) for r in its]
        k = max(1, len(values) // 10)
        first, last = sum(values[:k]) / k, sum(values[-k:]) / k
        finite = all(math.isfinite(v) for v in values)
        out.append(dict(phase=phase, loss=key, iters=len(values), finite=finite,
                        first=first, last=last, max=max(values),
                        falls=bool(finite and last < first), lr0=its[0]['lr']))
    return out


def run_config(name: str, args) -> dict:
    loaders = digits_loaders(args.data_root, args.batch_size, args.train_fraction)
    arch = Config.fromfile(osp.join('configs', 'sskd', name + '.py')).model
    t0 = time.perf_counter()
    div = args.width_div.get(name, 1)
    teacher_dir = osp.join(args.work_root, f'teacher_{name}_w{div}_e{args.teacher_epochs}'
                                           f'_f{args.train_fraction}_b{args.batch_size}')
    ckpt, teacher_top1 = train_teacher(arch.teacher, teacher_dir, loaders,
                                       args.teacher_epochs, args.teacher_lr, args.seed, div)
    t_teacher = time.perf_counter() - t0
    tag = f'{args.reduction or "cfg"}_lr{args.lr or "cfg"}_w{div}_f{args.train_fraction}'
    cfg = sskd_cfg(name, ckpt, osp.join(args.work_root, f'sskd_{name}_{tag}'), loaders,
                   args.phase_epochs, args.seed, args.reduction, args.lr, div)
    runner = Runner.from_cfg(cfg)
    recorder = LossRecorder()
    runner.register_hook(recorder)
    error = None
    try:
        runner.train()
    except Exception as e:  # a non-finite loss stops the run: report it
        error = f'{type(e).__name__}: {str(e).splitlines()[0][:200]}'
    return dict(config=name, width_div=div, teacher_top1=teacher_top1,
                teacher_seconds=round(t_teacher),
                sskd_seconds=round(time.perf_counter() - t0 - t_teacher),
                reduction=cfg.model.stage_loss.get('reduction', 'sum'),
                lr=cfg.optim_wrapper.optimizer.lr, phases=phase_report(recorder.rows),
                top1=recorder.top1[-1] if recorder.top1 and error is None else None,
                error=error, losses=recorder.rows)


def table(results: List[dict]) -> str:
    lines = ['| config | width | reduction | teacher top-1 | phase | loss | iters | start LR '
             '| finite | first 10 % | last 10 % | falls | student top-1 |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for res in results:
        for p in res['phases']:
            top1 = res['top1'] if p is res['phases'][-1] else ''
            top1 = f'{top1:.1f}' if isinstance(top1, float) else (res['error'] or '')
            width = 'full' if res['width_div'] == 1 else f"1/{res['width_div']}"
            lines.append(f"| {res['config']} | {width} | {res['reduction']} "
                         f"| {res['teacher_top1']:.1f} "
                         f"| {p['phase']} | {p['loss']} | {p['iters']} | {p['lr0']:.4g} "
                         f"| {p['finite']} | {p['first']:.4g} | {p['last']:.4g} "
                         f"| {p['falls']} | {top1} |")
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--configs', nargs='+', default=CONFIGS, choices=CONFIGS)
    p.add_argument('--phase-epochs', type=int, default=2)
    p.add_argument('--teacher-epochs', type=int, default=6)
    p.add_argument('--teacher-lr', type=float, default=0.1)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--train-fraction', type=float, default=0.5,
                   help='class-balanced share of the 1,437 training images (CPU budget)')
    p.add_argument('--reduction', choices=['sum', 'channel_sum'], default=None,
                   help="override the configs' stage-loss reduction")
    p.add_argument('--lr', type=float, default=None, help="override the configs' base LR")
    p.add_argument('--width-div', nargs='*', default=[], metavar='CONFIG=DIV',
                   help='divide the ResNet widths of a config (student and teacher) by DIV, '
                        'e.g. resnet18_r34_cifar100=4 (CPU budget); default: none')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--data-root', default='data/digits')
    p.add_argument('--work-root', default='work_dirs/sskd_digits')
    p.add_argument('--out', default=None, help='JSON file for the results')
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    args.width_div = {k: int(v) for k, v in (item.split('=') for item in args.width_div)}
    torch.set_num_threads(args.threads)
    write_digits_dataset(args.data_root)
    results = []
    for name in args.configs:
        res = run_config(name, args)
        results.append(res)
        print(table([res]), flush=True)
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(dict(args=vars(args), results=results), f)
    print(table(results))


if __name__ == '__main__':
    main()
