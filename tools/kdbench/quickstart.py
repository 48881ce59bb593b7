"""The quickstart comparison: train the teacher once, then every method x seed on the digits.

Everything runs through MMEngine's ``Runner`` on the configs in ``configs/quickstart/`` (each
a real method config with digits-sized overrides; found through the package by
:func:`mmstablekd.utils.mim.mim_dir`, so an installed wheel runs it too); the methods are the
rows of :mod:`kdbench.methods`. A :class:`RecorderHook` collects, per run, the validation
top-1 of every epoch, the training wall time of every epoch and the learning rate and
distillation stage of every iteration; :func:`run_comparison` checks its arguments
(:func:`check_arguments`) before it trains anything, then turns the runs into a table
(:func:`format_table`) and, via :mod:`kdbench.plots`, into PNGs.
"""
import dataclasses
import gc
import json
import os
import os.path as osp
import statistics
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.utils import get_ori_model

from mmstablekd.datasets.digits import write_digits_dataset
from mmstablekd.utils.checkpoint import mmengine_checkpoints
from mmstablekd.utils.strict_load import check_checkpoint_file
from .methods import QUICKSTART, TEACHERS, Method, colours, config_dir, select

TOP1 = 'accuracy/top1'
Progress = Callable[[str], None]


@dataclasses.dataclass
class RunRecord:
    """What one training run produced.

    Attributes:
        method (str): Method name (e.g. ``'StableKD-5/2'``).
        seed (int): Random seed of the run.
        epochs (int): Epoch budget (``train_cfg.max_epochs``).
        val_top1 (list[float]): Validation top-1 (%) after every epoch.
        epoch_seconds (list[float]): Training wall time of every epoch (validation excluded).
        iter_epoch (list[float]): Fractional epoch of every training iteration.
        lr (list[float]): Learning rate of every training iteration (first param group).
        stage (list[int]): Distillation stage of every iteration (-1: not a staged method).
        stage_names (dict): Stage index -> active partition / phase, e.g. ``'{12}{34}{5}'``.
    """
    method: str
    seed: int
    epochs: int
    val_top1: List[float] = dataclasses.field(default_factory=list)
    epoch_seconds: List[float] = dataclasses.field(default_factory=list)
    iter_epoch: List[float] = dataclasses.field(default_factory=list)
    lr: List[float] = dataclasses.field(default_factory=list)
    stage: List[int] = dataclasses.field(default_factory=list)
    stage_names: Dict[int, str] = dataclasses.field(default_factory=dict)

    @property
    def final_top1(self) -> float:
        """Top-1 (%) after the last epoch."""
        return self.val_top1[-1] if self.val_top1 else float('nan')

    @classmethod
    def from_dict(cls, d: dict) -> 'RunRecord':
        d = dict(d)
        d['stage_names'] = {int(k): v for k, v in d.get('stage_names', {}).items()}
        return cls(**d)


class RecorderHook(Hook):
    """Record a :class:`RunRecord` during ``runner.train()`` and report progress.

    Added to a runner by :func:`train_run` (``runner.register_hook``); not a config hook.

    Args:
        record (RunRecord): Filled in place.
        progress (callable, optional): Called with one line of text after every epoch.
        prefix (str): Put in front of every progress line.
    """

    priority = 'LOWEST'

    def __init__(self, record: RunRecord, progress: Optional[Progress] = None,
                 prefix: str = '') -> None:
        self.record = record
        self.progress = progress
        self.prefix = prefix
        self._t0 = 0.0

    def before_train_epoch(self, runner) -> None:
        self._t0 = time.perf_counter()

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = get_ori_model(runner.model)
        stage = int(getattr(model, 'stage', -1))
        lr = runner.optim_wrapper.get_lr()['lr'][0]
        rec = self.record
        rec.iter_epoch.append(runner.epoch + batch_idx / len(runner.train_dataloader))
        rec.lr.append(float(lr))
        rec.stage.append(stage)
        if stage >= 0 and stage not in rec.stage_names:
            rec.stage_names[stage] = stage_label(model)

    def after_train_epoch(self, runner) -> None:
        self.record.epoch_seconds.append(time.perf_counter() - self._t0)

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not metrics or TOP1 not in metrics:
            return
        rec = self.record
        rec.val_top1.append(float(metrics[TOP1]))
        if self.progress:
            self.progress(f'{self.prefix}epoch {len(rec.val_top1)}/{rec.epochs}  '
                          f'top-1 {rec.val_top1[-1]:5.1f} %  '
                          f'({rec.epoch_seconds[-1] if rec.epoch_seconds else 0:.1f} s)')


def stage_label(model) -> str:
    """The active partition (StableKD, e.g. ``'{12}{34}{5}'``) or phase (SSKD) of a staged
    distiller's current stage."""
    for attr in ('partition_str', 'phase_str'):
        if hasattr(model, attr):
            return str(getattr(model, attr)())
    return str(getattr(model, 'stage', ''))


def build_run_cfg(config: str, seed: int, epochs: Optional[int], work_dir: str,
                  data_root: str, teacher_ckpt: Optional[str] = None,
                  train_fraction: Optional[float] = None) -> Config:
    """Load a quickstart config and set seed, budget, work dir, data root and teacher.

    Args:
        config (str): Config path.
        seed (int): ``randomness.seed``.
        epochs (int, optional): ``train_cfg.max_epochs``; None keeps the config's.
        work_dir (str): Output folder of the run.
        data_root (str): Folder written by :func:`write_digits_dataset`.
        teacher_ckpt (str, optional): Sets ``model.teacher_ckpt`` of distiller configs.
        train_fraction (float, optional): Train on this class-balanced fraction of the
            training split (``ClassBalancedSubset``, selection seed 0, the same subset for
            every run); None or 1 keeps the whole split.

    Returns:
        Config: Ready for ``Runner.from_cfg``, logging only warnings (progress is printed by
        :class:`RecorderHook`) and saving only the final checkpoint.
    """
    cfg = Config.fromfile(config)
    if epochs is not None:
        cfg.train_cfg.max_epochs = int(epochs)
    cfg.randomness = dict(seed=int(seed), deterministic=False)
    cfg.work_dir = work_dir
    # Only the final checkpoint: these runs are never resumed, and per-epoch saves would add
    # to the measured epoch times and keep 3 files for each of the method x seed runs.
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=True)
    cfg.log_level = 'WARNING'
    cfg.experiment_name = f'{Path(config).stem}_s{seed}_{uuid.uuid4().hex[:8]}'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key) is not None:
            cfg[key].dataset.data_root = data_root
    if teacher_ckpt is not None and 'teacher' in cfg.model:
        cfg.model.teacher_ckpt = teacher_ckpt
    if train_fraction is not None and train_fraction < 1:
        cfg.train_dataloader.dataset = dict(type='ClassBalancedSubset',
                                            fraction=float(train_fraction), seed=0,
                                            dataset=cfg.train_dataloader.dataset)
    return cfg


def train_run(cfg: Config, record: RunRecord, progress: Optional[Progress] = None,
              prefix: str = '') -> RunRecord:
    """Train ``cfg`` with MMEngine's Runner, filling ``record``; returns it."""
    runner = Runner.from_cfg(cfg)
    runner.register_hook(RecorderHook(record, progress, prefix))
    with mmengine_checkpoints(f'a checkpoint of {cfg.work_dir}'):
        runner.train()
    del runner
    gc.collect()
    return record


def evaluate(config: str, checkpoint: str, data_root: str) -> float:
    """Top-1 (%) of ``checkpoint`` on the test split with ``config`` (MMEngine ``test``)."""
    cfg = build_run_cfg(config, 0, None, osp.join(osp.dirname(checkpoint), 'eval'), data_root)
    cfg.load_from = checkpoint
    runner = Runner.from_cfg(cfg)
    check_checkpoint_file(runner.model, checkpoint, config)
    with mmengine_checkpoints(f'checkpoint {checkpoint!r}'):
        metrics = runner.test()
    return float(metrics[TOP1])


def ensure_teacher(data_root: str, work_root: str, progress: Progress,
                   retrain: bool = False,
                   epochs: Optional[int] = None,
                   teacher: Tuple[str, str] = TEACHERS[QUICKSTART]) -> Tuple[str, RunRecord]:
    """Train the quickstart teacher unless its checkpoint already exists.

    The checkpoint goes where the distiller configs expect it when run from the repo root
    with ``work_root='work_dirs'``
    (``work_dirs/quickstart_teacher_r34_digits/epoch_{E}.pth``); a
    ``quickstart_teacher.json`` next to it keeps its accuracy curve for the table.

    Args:
        data_root (str): The digits folder.
        work_root (str): Parent of the teacher's work dir.
        progress (callable): Receives progress lines.
        retrain (bool): Train even if the checkpoint exists.
        epochs (int, optional): Overrides the teacher config's ``train_cfg.max_epochs``.
        teacher (tuple): ``(name, config under configs/quickstart/)``; default the
            quickstart's (:data:`kdbench.methods.TEACHERS`).

    Returns:
        tuple: (checkpoint path, the teacher's :class:`RunRecord`).
    """
    name, config = teacher
    path = str(config_dir() / config)
    epochs = int(epochs or Config.fromfile(path).train_cfg.max_epochs)
    work_dir = osp.join(work_root, 'quickstart_' + Path(config).stem)  # as tools/train.py
    ckpt = osp.join(work_dir, f'epoch_{epochs}.pth')
    meta = osp.join(work_dir, 'quickstart_teacher.json')
    if not retrain and osp.isfile(ckpt):
        if osp.isfile(meta):
            with open(meta) as f:
                record = RunRecord.from_dict(json.load(f))
        else:  # e.g. trained with tools/train.py: evaluate it once
            record = RunRecord(name, 0, epochs, val_top1=[evaluate(path, ckpt, data_root)])
            with open(meta, 'w') as f:
                json.dump(dataclasses.asdict(record), f)
        progress(f'teacher: reusing {ckpt} (top-1 {record.final_top1:.1f} %; delete it or '
                 'pass --retrain-teacher to train it again)')
        return ckpt, record
    progress(f'teacher: training {name} for {epochs} epochs -> {ckpt}')
    record = RunRecord(name, 0, epochs)
    cfg = build_run_cfg(path, 0, epochs, work_dir, data_root)
    train_run(cfg, record, progress, prefix='  teacher  ')
    with open(meta, 'w') as f:
        json.dump(dataclasses.asdict(record), f)
    return ckpt, record


def summarize(records: Sequence[RunRecord]) -> List[dict]:
    """One row per (method, epochs): top-1 mean/std/median over seeds, train s/epoch."""
    groups: Dict[Tuple[str, int], List[RunRecord]] = {}
    for r in records:
        groups.setdefault((r.method, r.epochs), []).append(r)
    rows = []
    for (method, epochs), runs in groups.items():
        accs = [r.final_top1 for r in runs]
        secs = [s for r in runs for s in r.epoch_seconds]
        early = max(1, epochs // 3)
        early_accs = [r.val_top1[early - 1] for r in runs if len(r.val_top1) >= early]
        rows.append(dict(method=method, epochs=epochs, seeds=len(runs),
                         top1_mean=statistics.fmean(accs),
                         top1_std=statistics.stdev(accs) if len(accs) > 1 else 0.0,
                         top1_median=statistics.median(accs),
                         early_epoch=early,
                         early_top1_mean=(statistics.fmean(early_accs) if early_accs
                                          else float('nan')),
                         sec_per_epoch=statistics.fmean(secs) if secs else float('nan')))
    return rows


def format_table(rows: Sequence[dict]) -> str:
    """Markdown table: method, epochs, top-1 mean ± std (seeds), wall time per epoch, and
    the mean top-1 after the first third of the budget (how fast a method gets there)."""
    lines = ['| Method | Epochs | Top-1 (%) mean ± std | Seeds | Train time / epoch (s) | '
             'Top-1 (%) after 1/3 of the epochs |',
             '|---|---:|---:|---:|---:|---:|']
    for r in rows:
        lines.append(f"| {r['method']} | {r['epochs']} | {r['top1_mean']:.2f} ± "
                     f"{r['top1_std']:.2f} | {r['seeds']} | {r['sec_per_epoch']:.1f} | "
                     f"{r['early_top1_mean']:.1f} (epoch {r['early_epoch']}) |")
    return '\n'.join(lines)


def _writable(path: str, what: str) -> None:
    """Refuse ``path`` unless it is (or can be created as) a writable folder."""
    probe = Path(path).resolve()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f'{what} {path!r}: {probe} is a file, not a folder')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f'{what} {path!r}: cannot write into {probe} (permission denied)')


def check_arguments(methods: Optional[Sequence[str]], epochs: int, seeds: Sequence[int],
                    data_root: str, work_root: str, out_dir: str,
                    teacher_epochs: Optional[int] = None) -> List[Method]:
    """Check the quickstart's arguments before anything trains; returns the selected rows.

    Raises:
        ValueError: an unknown method, an epoch budget below the minimum of a selected
            method (its number of training stages), no seeds, or a folder that cannot be
            written; the message says what to pass instead.
    """
    selected = select(methods, QUICKSTART)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f'--epochs must be a positive integer, got {epochs!r}')
    short = [m for m in selected if epochs < m.min_epochs]
    if short:
        need = max(m.min_epochs for m in short)
        names = ', '.join(f'{m.name} (>= {m.min_epochs})' for m in short)
        fitting = [m.name for m in selected if epochs >= m.min_epochs]
        raise ValueError(
            f'--epochs {epochs} is too few for {names}: every training stage needs at least '
            f'one epoch. Pass --epochs {need} or more, or leave them out, e.g. --methods '
            + ' '.join(repr(n) for n in fitting))
    if not seeds:
        raise ValueError('--seeds needs at least one seed')
    if teacher_epochs is not None and teacher_epochs < 1:
        raise ValueError(f'--teacher-epochs must be a positive integer, got {teacher_epochs}')
    for path, what in ((data_root, '--data-root'), (work_root, '--work-root'),
                       (out_dir, '--out-dir')):
        _writable(path, what)
    return selected


def run_methods(selected: Sequence[Method], budgets: Sequence[int],
                seeds: Sequence[int], data_root: str, out_dir: str, teacher_ckpt: str,
                say: Progress, train_fraction: Optional[float] = None) -> List[RunRecord]:
    """Train every (method, epoch budget, seed); runs go to ``<out_dir>/runs/``.

    Args:
        selected (Sequence[Method]): Rows of :mod:`kdbench.methods`.
        budgets (Sequence[int]): Epoch budgets.
        seeds (Sequence[int]): Seeds.
        data_root (str): The digits folder.
        out_dir (str): Parent of the run work dirs.
        teacher_ckpt (str): Teacher checkpoint for the distillers.
        say (callable): Receives progress lines.
        train_fraction (float, optional): See :func:`build_run_cfg`.

    Returns:
        list[RunRecord]: One record per run, in run order.
    """
    records: List[RunRecord] = []
    total = len(selected) * len(budgets) * len(seeds)
    k = 0
    for method in selected:
        name, config = method.name, str(config_dir() / method.config)
        for epochs in budgets:
            for seed in seeds:
                k += 1
                slug = Path(config).stem
                work_dir = osp.join(out_dir, 'runs', f'{slug}_e{epochs}_s{seed}')
                say(f'run {k}/{total}: {name}, seed {seed}, {epochs} epochs ({slug}.py)')
                cfg = build_run_cfg(config, seed, epochs, work_dir, data_root, teacher_ckpt,
                                    train_fraction)
                records.append(train_run(cfg, RunRecord(name, seed, epochs), say,
                                         prefix=f'  {name:<18}'))
    return records


def run_comparison(methods: Optional[Sequence[str]] = None, epochs: int = 6,
                   seeds: Sequence[int] = (0, 1, 2), data_root: str = 'data/digits',
                   work_root: str = 'work_dirs', out_dir: str = 'work_dirs/quickstart',
                   threads: int = 1, retrain_teacher: bool = False,
                   teacher_epochs: Optional[int] = None, plots: bool = True,
                   progress: Progress = print) -> dict:
    """The whole quickstart: data, teacher, every method x seed, table, JSON and plots.

    Args:
        methods (Sequence[str], optional): Names of quickstart rows of
            :mod:`kdbench.methods`; default: all.
        epochs (int): Epoch budget of every method. Defaults to 6.
        seeds (Sequence[int]): Seeds per method. Defaults to (0, 1, 2).
        data_root (str): Where the digits are written (once).
        work_root (str): Parent of the run work dirs (teacher:
            ``<work_root>/quickstart_teacher_r34_digits``).
        out_dir (str): Where ``results.md``, ``results.json`` and the PNGs go.
        threads (int): ``torch.set_num_threads``; 1 is fastest for these tiny convolutions on
            a small shared CPU.
        retrain_teacher (bool): Train the teacher even if its checkpoint exists.
        teacher_epochs (int, optional): Teacher budget; default: its config's (15).
        plots (bool): Write the PNGs.
        progress (callable): Receives progress lines.

    Returns:
        dict: ``rows`` (see :func:`summarize`), ``table`` (markdown), ``records`` and
        ``files`` (paths written).
    """
    selected = check_arguments(methods, epochs, seeds, data_root, work_root, out_dir,
                               teacher_epochs)
    if threads:
        torch.set_num_threads(int(threads))
    t_start = time.perf_counter()
    Path(out_dir).mkdir(parents=True, exist_ok=True)

    def say(line: str) -> None:
        el = int(time.perf_counter() - t_start)
        progress(f'[{el // 60:2d}:{el % 60:02d}] {line}')

    meta = write_digits_dataset(data_root)
    say(f"data: {sum(meta['counts']['train'])} train / {sum(meta['counts']['test'])} test "
        f"digit images ({len(meta['classes'])} classes) in {data_root}")
    teacher_ckpt, teacher = ensure_teacher(data_root, work_root, say, retrain_teacher,
                                           teacher_epochs)

    records = run_methods(selected, [epochs], seeds, data_root, out_dir, teacher_ckpt, say)
    rows = summarize([teacher]) + summarize(records)
    table = format_table(rows)
    files = dict(table=osp.join(out_dir, 'results.md'), json=osp.join(out_dir, 'results.json'))
    elapsed = time.perf_counter() - t_start
    header = (f'Quickstart: {len(selected)} method(s) x {len(seeds)} seed(s), {epochs} '
              f'epochs, digits data set, {torch.get_num_threads()} torch thread(s); '
              f'total wall time {elapsed / 60:.1f} min.\n\n')
    Path(files['table']).write_text(header + table + '\n')
    with open(files['json'], 'w') as f:
        json.dump(dict(rows=rows, teacher=dataclasses.asdict(teacher),
                       records=[dataclasses.asdict(r) for r in records]), f)
    if plots:
        from .plots import plot_stage_timeline, plot_val_accuracy
        files['accuracy_png'] = plot_val_accuracy(
            records, osp.join(out_dir, 'val_accuracy.png'), teacher_top1=teacher.final_top1,
            colours=colours(QUICKSTART))
        staged = [r for r in records if r.method.startswith('StableKD') and r.stage_names]
        if staged:
            main = max(staged, key=lambda r: (len(r.stage_names), -r.seed))
            files['timeline_png'] = plot_stage_timeline(
                main, osp.join(out_dir, 'stablekd_timeline.png'))
    return dict(rows=rows, table=table, records=records, teacher=teacher, files=files,
                seconds=elapsed)
