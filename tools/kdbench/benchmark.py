"""Method-comparison benchmark: convergence over epoch budgets, and cost of a training step.

* :func:`convergence` -- every method trained at epoch budgets ``E, 2E, ...`` with several
  seeds on the quickstart digits (through :func:`kdbench.quickstart.run_methods`),
  on the whole training split or on a class-balanced fraction of it (paper Table 2);
  :func:`reach_rows` turns the runs into the epochs each method needs to reach vanilla KD's
  final accuracy at the largest budget.
* :func:`time_train_steps` -- wall time per training iteration and peak memory of one step
  of every method on the *same* batch, plus a minimal plain-PyTorch KD step built from the
  same student and teacher modules (what the framework costs on top); at digits size
  (the ``TIMING`` rows of :mod:`kdbench.methods`) or at paper size (their ``paper_config``:
  the CIFAR-100 configs, full-width ResNet_CIFAR-34 -> 18, on a :func:`synthetic_batch` of 64
  32x32 images).

Both produce rows that :func:`format_timing_table` / :func:`format_convergence_table` turn
into markdown, and verdicts against the targets of :mod:`kdbench.targets`;
``tools/benchmark.py`` writes them into one report.
"""
import copy
import statistics
import time
import weakref
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from mmstablekd.registry import MODELS
from mmstablekd.utils.mim import config_path
from mmstablekd.utils.stages import stage_epochs as derive_stage_epochs
from . import targets
from .methods import CRD, TEACHERS, TIMING, Method, config_dir, rows as method_rows
from .quickstart import RunRecord, ensure_teacher, run_methods, stage_label, summarize

PLAIN = 'Plain PyTorch KD'
Step = Callable[[], object]


class PeakTensorMemory(TorchDispatchMode):
    """Peak bytes of the tensor storages created while the mode is active (CPU or CUDA).

    Every op output whose storage is new is counted until that storage is freed (a weakref
    finalizer); ``peak`` is the maximum of the running total, i.e. the extra memory a
    training step needs on top of what existed before (parameters, optimizer state).
    """

    def __init__(self) -> None:
        super().__init__()
        self.current = 0
        self.peak = 0
        self._live: Dict[int, int] = {}

    def _free(self, key: int, nbytes: int) -> None:
        if self._live.pop(key, None) is not None:
            self.current -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            key, nbytes = storage.data_ptr(), storage.nbytes()
            if nbytes == 0 or key in self._live:
                continue
            self._live[key] = nbytes
            self.current += nbytes
            self.peak = max(self.peak, self.current)
            weakref.finalize(storage, self._free, key, nbytes)
        return out


def load_batch(config: str, data_root: str, seed: int = 0) -> dict:
    """The first training batch of ``config``'s train dataloader (dict of inputs/samples)."""
    cfg = Config.fromfile(config)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.dataset.data_root = data_root
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        loader = Runner.build_dataloader(loader_cfg, seed=seed)
        return next(iter(loader))


def synthetic_batch(batch_size: int = 64, size: int = 32, num_classes: int = 100,
                    seed: int = 0) -> dict:
    """A batch as mmpretrain's dataloader delivers it: ``inputs`` (list of (3, size, size)
    uint8 tensors) and ``data_samples`` with ``gt_label``; random pixels and labels (the
    time of a step does not depend on them)."""
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (batch_size, 3, size, size), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, num_classes, (batch_size, ), generator=g)
    return dict(inputs=list(images),
                data_samples=[DataSample().set_gt_label(int(y)) for y in labels])


def timing_methods() -> List[Tuple[str, str]]:
    """The ``TIMING`` rows of the method table as ``(label, digits config path)``."""
    return [(m.name, str(config_dir() / m.config)) for m in method_rows(TIMING)]


def paper_methods(names: Optional[Sequence[str]] = None) -> List[Tuple[str, str]]:
    """The selected rows with a ``paper_config`` as ``(label, absolute config path)``; the
    first one is the reference of the ratios (KD by default)."""
    known = {m.name: m.paper_config for m in method_rows(TIMING) if m.paper_config}
    names = list(names) if names else list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f'unknown paper-size method(s) {unknown}; choose from {list(known)}')
    return [(n, str(config_path(known[n]))) for n in names]


def build_method(config: str, stage: Optional[int] = None, device: str = 'cpu'):
    """Model (random teacher weights: timing does not depend on them) and optim wrapper.

    A staged method is held in ``stage`` by :meth:`BaseDistiller.hold_stage` (the benchmark
    times every stage on its own instead of running the config's stage hook).

    Returns:
        tuple: (model in train mode, optim wrapper, the loaded Config).
    """
    cfg = Config.fromfile(config)
    model_cfg = copy.deepcopy(cfg.model)
    if 'teacher_ckpt' in model_cfg:
        model_cfg.teacher_ckpt = None
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', copy.deepcopy(cfg.data_preprocessor))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg).to(device)
        optim_wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    if stage is not None:
        model.hold_stage(stage, driver='kdbench.benchmark.build_method')
    model.train()
    return model, optim_wrapper, cfg


def plain_kd_step(student: torch.nn.Module, teacher: torch.nn.Module, batch: dict,
                  mean: Sequence[float], std: Sequence[float], alpha: float = 0.5,
                  tau: float = 1.0, lr: float = 0.01, device: str = 'cpu') -> Step:
    """A minimal KD training step in plain PyTorch on the modules of an mmpretrain classifier.

    ``x = (uint8 batch - mean) / std``; teacher logits without grad; student logits;
    ``(1-alpha) * CE + alpha * tau^2 * KL(softmax(t/tau) || softmax(s/tau))``; SGD step. The
    batch is stacked once beforehand, as a PyTorch DataLoader would deliver it.

    Args:
        student, teacher (nn.Module): mmpretrain ``ImageClassifier`` s (their backbone, neck
            and ``head.fc`` are called directly).
        batch (dict): A batch from an mmpretrain dataloader (``inputs``: list of (3, H, W)
            uint8 tensors, ``data_samples`` with ``gt_label``).
        mean, std (Sequence[float]): Per-channel normalisation.

    Returns:
        callable: One call = one training step.
    """
    x_u8 = torch.stack(batch['inputs']).to(device)
    y = torch.cat([s.gt_label for s in batch['data_samples']]).to(device)
    mean_t = torch.tensor(mean, device=device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)
    opt = torch.optim.SGD(student.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)

    def logits(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        return net.head.fc(net.neck(net.backbone(x))[-1])

    def step() -> torch.Tensor:
        x = (x_u8.float() - mean_t) / std_t
        with torch.no_grad():
            t = logits(teacher, x)
        s = logits(student, x)
        kl = F.kl_div(F.log_softmax(s / tau, 1), F.log_softmax(t / tau, 1), log_target=True,
                      reduction='batchmean')
        loss = (1 - alpha) * F.cross_entropy(s, y) + alpha * tau**2 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def measure(steps: Dict[str, Step], rounds: int = 15, inner: int = 3, warmup: int = 3,
            device: str = 'cpu') -> Dict[str, List[float]]:
    """Seconds per step of every entry, interleaved round-robin (robust to load drift).

    Every entry first runs ``warmup`` steps; then, ``rounds`` times, every entry runs
    ``inner`` consecutive steps whose mean is one sample.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    samples: Dict[str, List[float]] = {k: [] for k in steps}
    for _ in range(rounds):
        for key, step in steps.items():
            _sync(device)
            t0 = time.perf_counter()
            for _ in range(inner):
                step()
            _sync(device)
            samples[key].append((time.perf_counter() - t0) / inner)
    return samples


def peak_step_memory(step: Step, device: str = 'cpu') -> int:
    """Extra bytes one call of ``step`` needs at its peak (see :class:`PeakTensorMemory`)."""
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    with PeakTensorMemory() as mem:
        step()
    return mem.peak


def time_train_steps(methods: Optional[Sequence[Tuple[str, str]]] = None,
                     data_root: str = 'data/digits', rounds: int = 15, inner: int = 3,
                     warmup: int = 3, device: str = 'cpu', plain: bool = True,
                     memory: bool = True, batch: Optional[dict] = None) -> List[dict]:
    """Time one training step (``model.train_step``: preprocessing, forward, losses,
    backward, optimizer step) of every method and stage on the same batch.

    Args:
        methods (Sequence[tuple], optional): ``(label, config)`` pairs; default
            :func:`timing_methods` (configs under ``configs/quickstart/``).
        data_root (str): Digits folder (the batch is the first one of the KD config's loader).
        rounds, inner, warmup (int): See :func:`measure`.
        device (str): ``'cpu'`` or ``'cuda'``.
        plain (bool): Also time :func:`plain_kd_step` on the first method's networks.
        memory (bool): Also measure the peak step memory.
        batch (dict, optional): The batch to time on (e.g. :func:`synthetic_batch`); default:
            the first batch of the first method's train loader under ``data_root``.

    Returns:
        list[dict]: Rows with ``method``, ``stage`` (None or the stage/phase name),
        ``weight`` (share of the training epochs spent in that stage), ``ms`` (median),
        ``ms_q1``/``ms_q3``, ``ms_min``, ``mem_mib``; ``ratio``: median over rounds of the
        time / the first method's (KD) time in the same round (pairing cancels load drift on
        a shared machine); ``mem_ratio``: memory / the first method's.
        Staged methods also get a row with ``stage='epoch mean'`` (weighted by the epochs
        per stage of the config's ``train_cfg.max_epochs``).
    """
    methods = list(methods or timing_methods())
    if batch is None:
        batch = load_batch(methods[0][1], data_root)
    steps: Dict[str, Step] = {}
    meta: Dict[str, dict] = {}
    for label, config in methods:
        model, _, cfg = build_method(config, device=device)
        staged = hasattr(model, 'set_stage')
        stages = list(range(int(model.num_stages))) if staged else [None]
        weights = derive_stage_epochs(int(cfg.train_cfg.max_epochs), len(stages))
        for stage, epochs in zip(stages, weights):
            model, ow, cfg = build_method(config, stage=stage, device=device)
            key = f'{label}#{stage}'
            steps[key] = (lambda m=model, o=ow: m.train_step(batch, o))
            name = None if stage is None else f'{model.stage}: {stage_label(model)}'
            meta[key] = dict(method=label, stage=name, weight=epochs / sum(weights))
        if plain and label == methods[0][0]:
            pre = cfg.data_preprocessor
            plain_model, _, _ = build_method(config, device=device)
            steps[PLAIN] = plain_kd_step(plain_model.student, plain_model.teacher, batch,
                                         pre['mean'], pre['std'],
                                         float(cfg.model.get('alpha', 0.5)),
                                         float(cfg.model.get('tau', 1.0)), device=device)
            meta[PLAIN] = dict(method=PLAIN, stage=None, weight=1.0)
    samples = measure(steps, rounds, inner, warmup, device)
    ref_key = next(iter(samples))  # the first method (KD), stage-less
    rows = []
    for key, times in samples.items():
        q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
        paired = [t / r for t, r in zip(times, samples[ref_key])]
        row = dict(meta[key], ms=1e3 * statistics.median(times), ms_q1=1e3 * q[0],
                   ms_q3=1e3 * q[2], ms_min=1e3 * min(times), samples=len(times),
                   ratio=statistics.median(paired))
        row['mem_mib'] = (peak_step_memory(steps[key], device) / 2**20 if memory
                          else float('nan'))
        rows.append(row)
    ref_mem = rows[0]['mem_mib']
    rows = _add_epoch_means(rows)
    for r in rows:
        r['mem_ratio'] = r['mem_mib'] / ref_mem if ref_mem else float('nan')
    return rows


def _add_epoch_means(rows: List[dict]) -> List[dict]:
    out: List[dict] = []
    by_method: Dict[str, List[dict]] = {}
    for r in rows:
        by_method.setdefault(r['method'], []).append(r)
    for method, group in by_method.items():
        out.extend(group)
        if len(group) > 1:
            out.append(dict(method=method, stage='epoch mean', weight=1.0, samples=None,
                            ms=sum(r['weight'] * r['ms'] for r in group),
                            ms_q1=float('nan'), ms_q3=float('nan'),
                            ms_min=sum(r['weight'] * r['ms_min'] for r in group),
                            ratio=sum(r['weight'] * r['ratio'] for r in group),
                            mem_mib=max(r['mem_mib'] for r in group)))
    return out


def format_timing_table(rows: Sequence[dict], ref: str = 'KD') -> str:
    """Markdown table of :func:`time_train_steps` rows."""
    lines = [f'| Method | Stage | ms / iteration: median [IQR] | min | ÷ {ref} (paired) | '
             f'Peak step memory (MiB) | ÷ {ref} |',
             '|---|---|---:|---:|---:|---:|---:|']
    for r in rows:
        iqr = '' if r['ms_q1'] != r['ms_q1'] else f" [{r['ms_q1']:.1f}–{r['ms_q3']:.1f}]"
        mem_note = ' (max)' if r['stage'] == 'epoch mean' else ''
        lines.append(f"| {r['method']} | {r['stage'] or '–'} | {r['ms']:.1f}{iqr} | "
                     f"{r['ms_min']:.1f} | {r['ratio']:.3f} | {r['mem_mib']:.1f}{mem_note} | "
                     f"{r['mem_ratio']:.2f} |")
    return '\n'.join(lines)


def _ratio(rows: Sequence[dict], method: Optional[str], stage=None) -> Optional[float]:
    """Paired time ratio of ``method`` (first row; with ``stage``: that stage's row) to the
    reference; ``method=None``: the reference itself (1.0)."""
    if method is None:
        return 1.0
    for r in rows:
        if r['method'] == method and (stage is None or r['stage'] == stage):
            return r['ratio']
    return None


def check_timing(rows: Sequence[dict], table: Sequence[dict]) -> List[str]:
    """Verdict lines of the timing ``table`` (rows of :mod:`kdbench.targets`) measured in
    ``rows``; a target whose methods were not timed is left out."""
    out = []
    for t in table:
        num = _ratio(rows, t['method'], t['stage'])
        den = _ratio(rows, t['over'], t['over_stage'])
        if num is not None and den:
            out.append(_target(t['what'], num / den, t['limit']))
    return out


def timing_targets(rows: Sequence[dict]) -> List[str]:
    """The digits-size timing targets (:data:`kdbench.targets.TIMING`), measured."""
    return check_timing(rows, targets.TIMING)


def paper_step_goal(rows: Sequence[dict]) -> Optional[str]:
    """The paper-size timing target (:data:`kdbench.targets.PAPER_TIMING`), if measured."""
    lines = check_timing(rows, targets.PAPER_TIMING)
    return '\n'.join(lines) if lines else None


def _target(what: str, value: float, limit: float) -> str:
    verdict = 'met' if value <= limit else 'NOT met'
    return f'- {what}: **{value:.3f}** (target ≤ {limit:.3g}: {verdict})'


def convergence(methods: Sequence[Method], budgets: Sequence[int],
                seeds: Sequence[int], data_root: str, out_dir: str, teacher_ckpt: str,
                say: Callable[[str], None],
                train_fraction: Optional[float] = None) -> Tuple[List[RunRecord], List[str]]:
    """Train every method at every budget and seed (see ``quickstart.run_methods``), on
    ``train_fraction`` of the training split (class-balanced; None: all of it).

    A budget below a method's ``min_epochs`` (e.g. fewer epochs than SSKD's phases) is
    skipped with a note, before anything trains, instead of failing the whole benchmark.

    Returns:
        tuple: (records, notes about skipped runs).
    """
    records: List[RunRecord] = []
    notes: List[str] = []
    total, k = len(methods) * len(budgets), 0
    for method in methods:
        for epochs in budgets:
            k += 1
            if epochs < method.min_epochs:
                notes.append(f'{method.name} at {epochs} epochs skipped: it trains in '
                             f'{method.min_epochs} stages, one epoch each at least')
                say(notes[-1])
                continue
            say(f'== {method.name} at {epochs} epochs x {len(seeds)} seed(s) '
                f'(method-budget {k}/{total})')
            records += run_methods([method], [epochs], seeds, data_root, out_dir,
                                   teacher_ckpt, say, train_fraction)
    return records, notes


def format_convergence_table(records: Sequence[RunRecord], budgets: Sequence[int]) -> str:
    """Markdown: one row per method, one column per budget: median (mean ± std) top-1."""
    rows = summarize(records)
    cell = {(r['method'], r['epochs']): r for r in rows}
    methods = list(dict.fromkeys(r['method'] for r in rows))
    head = '| Method | ' + ' | '.join(f'{e} epochs' for e in budgets) + ' |'
    lines = [head, '|---|' + '---:|' * len(budgets)]
    for m in methods:
        cells = []
        for e in budgets:
            r = cell.get((m, e))
            cells.append('–' if r is None else
                         f"{r['top1_median']:.2f} ({r['top1_mean']:.2f} ± {r['top1_std']:.2f})")
        lines.append(f'| {m} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def convergence_target(records: Sequence[RunRecord], base: int) -> Optional[str]:
    """The :data:`kdbench.targets.CONVERGENCE` verdicts: ``method`` at E epochs >= ``vs`` at
    ``vs_multiple`` x E (medians over seeds); None when not measured."""
    rows = {(r['method'], r['epochs']): r for r in summarize(records)}
    lines = []
    for t in targets.CONVERGENCE:
        vs_epochs = t['vs_multiple'] * base
        ours, theirs = rows.get((t['method'], base)), rows.get((t['vs'], vs_epochs))
        if not ours or not theirs:
            continue
        ok = ours['top1_median'] >= theirs['top1_median']
        lines.append(f"- {t['method']} at {base} epochs: median top-1 "
                     f"**{ours['top1_median']:.2f}** vs {t['vs']} at {vs_epochs} epochs: "
                     f"**{theirs['top1_median']:.2f}** (target ≥: {'met' if ok else 'NOT met'})")
    return '\n'.join(lines) if lines else None


def reach_target(records: Sequence[RunRecord], ref: str = 'KD') -> Optional[float]:
    """The accuracy to reach: ``ref``'s median final top-1 (over seeds) at its largest
    budget; None without ``ref`` runs."""
    runs = [r for r in records if r.method == ref]
    if not runs:
        return None
    largest = max(r.epochs for r in runs)
    return statistics.median(r.final_top1 for r in runs if r.epochs == largest)


def median_curve(runs: Sequence[RunRecord]) -> List[float]:
    """Per-epoch median (over seeds) of the validation top-1 of runs of one budget."""
    length = min(len(r.val_top1) for r in runs)
    return [statistics.median(r.val_top1[e] for r in runs) for e in range(length)]


def budget_to_reach(records: Sequence[RunRecord], method: str,
                    target: float) -> Optional[int]:
    """Smallest epoch budget at which ``method``'s median final top-1 is >= ``target``
    (each budget is a separate run with its own schedule); None if no budget reaches it."""
    by_budget: Dict[int, List[float]] = {}
    for r in records:
        if r.method == method:
            by_budget.setdefault(r.epochs, []).append(r.final_top1)
    for epochs in sorted(by_budget):
        if statistics.median(by_budget[epochs]) >= target:
            return epochs
    return None


def epoch_to_reach(records: Sequence[RunRecord], method: str,
                   target: float) -> Optional[int]:
    """First epoch (1-based) at which the median validation curve of ``method``'s
    largest-budget runs is >= ``target``; None if it never is."""
    runs = [r for r in records if r.method == method]
    if not runs:
        return None
    largest = max(r.epochs for r in runs)
    curve = median_curve([r for r in runs if r.epochs == largest])
    return next((e + 1 for e, acc in enumerate(curve) if acc >= target), None)


def reach_rows(records: Sequence[RunRecord], ref: str = 'KD') -> List[dict]:
    """Per method: the budget and the epoch it needs to reach ``ref``'s final accuracy at
    the largest budget (see :func:`budget_to_reach`, :func:`epoch_to_reach`), and the
    budget as a fraction of ``ref``'s own."""
    target = reach_target(records, ref)
    if target is None:
        return []
    ref_budget = budget_to_reach(records, ref, target)
    rows = []
    for method in dict.fromkeys(r.method for r in records):
        budget = budget_to_reach(records, method, target)
        rows.append(dict(method=method, target=target, budget=budget,
                         epoch=epoch_to_reach(records, method, target),
                         largest=max(r.epochs for r in records if r.method == method),
                         ratio=(budget / ref_budget if budget and ref_budget else None)))
    return rows


def format_reach_table(rows: Sequence[dict], ref: str = 'KD') -> str:
    """Markdown table of :func:`reach_rows`."""
    if not rows:
        return f'(no {ref} runs: nothing to reach)'
    lines = [f"Target: {ref}'s median final top-1 at its largest budget, "
             f"**{rows[0]['target']:.2f} %**.", '',
             '| Method | Smallest budget reaching it (epochs) | ÷ ' + ref +
             ' | First epoch reaching it in the largest-budget run |', '|---|---:|---:|---:|']
    for r in rows:
        budget = '–' if r['budget'] is None else str(r['budget'])
        ratio = '–' if r['ratio'] is None else f"{r['ratio']:.2f}"
        epoch = (f"> {r['largest']} (not reached)" if r['epoch'] is None
                 else f"{r['epoch']} of {r['largest']}")
        lines.append(f"| {r['method']} | {budget} | {ratio} | {epoch} |")
    return '\n'.join(lines)


def reach_goal(rows: Sequence[dict], label: str, method: Optional[str] = None
               ) -> Optional[str]:
    """The :data:`kdbench.targets.REACH` verdicts on a low-data row (``method``: only that
    target's method, else every target's); None when not measured."""
    lines = []
    for t in targets.REACH:
        name = method or t['method']
        row = next((r for r in rows if r['method'] == name), None)
        if row is None:
            continue
        if row['ratio'] is None:
            lines.append(f"- {label}: {name} does not reach the target within its budgets "
                         f"(goal: ≤ {t['limit']:.2f} of {t['ref']}'s epochs: NOT met)")
        else:
            lines.append(_target(f"{label}: {name} epochs ÷ {t['ref']} epochs to reach the "
                                 'target', row['ratio'], round(t['limit'], 3)))
    return '\n'.join(lines) if lines else None


def crd_suite(budgets: Sequence[int], seeds: Sequence[int], data_root: str, work_root: str,
              out_dir: str, say: Callable[[str], None]
              ) -> Tuple[List[RunRecord], RunRecord, List[str]]:
    """The CRD benchmark's ResNet-56 -> ResNet-20 pair, every method, on the digits.

    Trains the ResNet-56 digits teacher unless ``<work_root>/quickstart_crd_teacher_r56_digits``
    has its checkpoint, then every ``CRD`` row of :mod:`kdbench.methods` at every budget and
    seed.

    Returns:
        tuple: (run records, the teacher's record, notes about skipped budgets).
    """
    teacher_ckpt, teacher = ensure_teacher(data_root, work_root, say, teacher=TEACHERS[CRD])
    records, notes = convergence(method_rows(CRD), budgets, seeds, data_root, out_dir,
                                 teacher_ckpt, say)
    return records, teacher, notes
