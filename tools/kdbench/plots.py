"""PNG plots of quickstart / benchmark runs.

* :func:`plot_val_accuracy` -- validation top-1 per epoch of every method (mean over seeds,
  band = min..max), the view of the StableKD paper's Fig. 3/5.
* :func:`plot_stage_timeline` -- one StableKD run: learning rate per iteration and validation
  top-1 per epoch above, the active partition of each training stage below.

Both take :class:`kdbench.quickstart.RunRecord`-like objects (attributes
``method``, ``seed``, ``epochs``, ``val_top1``, ``iter_epoch``, ``lr``, ``stage``,
``stage_names``) and return the path written.
"""
import re
from typing import Dict, List, Optional, Sequence

import numpy as np


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _by_method(records: Sequence) -> Dict[str, List]:
    out: Dict[str, List] = {}
    for r in records:
        out.setdefault(r.method, []).append(r)
    return out


def plot_val_accuracy(records: Sequence, path: str, teacher_top1: Optional[float] = None,
                      title: str = 'Digits (8x8 -> 16x16): ResNet-34 teacher -> ResNet-18 student',
                      colours: Optional[Dict[str, str]] = None) -> str:
    """Validation top-1 per epoch of every method; left: full range, right: zoom on the top.

    Args:
        records (Sequence[RunRecord]): Runs; runs of one method are averaged per epoch.
        path (str): Output PNG.
        teacher_top1 (float, optional): Drawn as a dashed reference line.
        title (str): Figure title.
        colours (dict, optional): Method name -> colour (the method table's); methods not
            in it get matplotlib's cycle by order.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    finals = []
    for i, (method, runs) in enumerate(_by_method(records).items()):
        n = min(len(r.val_top1) for r in runs)
        if n == 0:
            continue
        acc = np.array([r.val_top1[:n] for r in runs])
        x = np.arange(1, n + 1)
        mean = acc.mean(0)
        finals.append(acc.min(0)[-1])
        colour = (colours or {}).get(method, f'C{i}')
        style = dict(color=colour, marker='o', ms=3.5, lw=2.2 if 'StableKD' in method else 1.4,
                     label=f'{method} (n={len(runs)})')
        for ax in axes:
            ax.plot(x, mean, **style)
            if len(runs) > 1:
                ax.fill_between(x, acc.min(0), acc.max(0), color=colour, alpha=0.15, lw=0)
    for ax in axes:
        if teacher_top1 is not None:
            ax.axhline(teacher_top1, color='k', ls='--', lw=1,
                       label=f'teacher ({teacher_top1:.1f} %)')
        ax.set_xlabel('Epoch')
        ax.set_ylabel('Validation top-1 (%)')
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set_title('All epochs (line: mean over seeds, band: min..max)')
    # zoom on the leading group: methods more than 10 points behind the best are left out
    best = max(finals, default=100.0)
    low = min([f for f in finals if f >= best - 10.0] + [teacher_top1 or 100.0])
    axes[1].set_ylim(max(0.0, low - 2.0), 100.2)
    axes[1].set_title('Zoom on the leading methods')
    axes[0].legend(loc='lower right', fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _groups(name: str) -> List[List[int]]:
    """'{12}{34}{5}' -> [[1, 2], [3, 4], [5]]."""
    return [[int(c) for c in g] for g in re.findall(r'\{(\d+)\}', name)]


def plot_stage_timeline(record, path: str) -> str:
    """LR schedule, validation top-1 and active partition of one staged (StableKD) run.

    Args:
        record (RunRecord): A run with per-iteration ``lr`` and ``stage`` and
            ``stage_names`` such as ``{0: '{1}{2}{3}{4}{5}', 1: '{12}{34}{5}', ...}``.
        path (str): Output PNG.
    """
    plt = _pyplot()
    fig, (ax_lr, ax_p) = plt.subplots(2, 1, figsize=(10, 6.2), sharex=True,
                                      gridspec_kw=dict(height_ratios=[3, 2]))
    x = np.asarray(record.iter_epoch)
    stage = np.asarray(record.stage)
    end = float(record.epochs)
    spans = []
    for s in sorted(set(stage.tolist())):
        xs = x[stage == s]
        spans.append((s, float(xs.min()), float(xs.max())))
    # stage s lasts until the next stage starts (or the end of training)
    bounds = [(s, a, spans[i + 1][1] if i + 1 < len(spans) else end)
              for i, (s, a, _) in enumerate(spans)]
    for s, a, b in bounds:
        ax_lr.axvspan(a, b, color=f'C{s}', alpha=0.08, lw=0)
        if a > 0:
            for ax in (ax_lr, ax_p):
                ax.axvline(a, color='0.4', ls=':', lw=1)
    ax_lr.plot(x, record.lr, color='C0', lw=1.6, label='learning rate (per iteration)')
    ax_lr.set_ylabel('Learning rate')
    ax_lr.grid(alpha=0.3)
    ax_acc = ax_lr.twinx()
    ep = np.arange(1, len(record.val_top1) + 1)
    ax_acc.plot(ep, record.val_top1, color='C3', marker='o', ms=4, lw=1.4,
                label='validation top-1 (end of epoch)')
    ax_acc.set_ylabel('Validation top-1 (%)', color='C3')
    handles = ax_lr.get_legend_handles_labels()[0] + ax_acc.get_legend_handles_labels()[0]
    labels = ax_lr.get_legend_handles_labels()[1] + ax_acc.get_legend_handles_labels()[1]
    ax_lr.legend(handles, labels, loc='center right', fontsize=8)
    ax_lr.set_title(f'{record.method} (seed {record.seed}): one triangular LR cycle per stage, '
                    'amplitude halving')

    num_blocks = max((max(sum(_groups(n), [])) for n in record.stage_names.values()),
                     default=1)
    for s, a, b in bounds:
        name = record.stage_names.get(s, '')
        for g in _groups(name):
            ax_p.broken_barh([(a, b - a)], (min(g) - 0.42, len(g) - 0.16),
                             facecolors=f'C{s}', alpha=0.55, edgecolors='k', lw=0.8)
        ax_p.text((a + b) / 2, num_blocks + 0.75, f'stage {s}: {name}', ha='center',
                  va='center', fontsize=9)
    ax_p.set_ylim(0.4, num_blocks + 1.2)
    ax_p.set_yticks(range(1, num_blocks + 1))
    ax_p.set_yticklabels([f'block {b}' + (' (head)' if b == num_blocks else '')
                          for b in range(1, num_blocks + 1)])
    ax_p.set_xlim(0, end)
    ax_p.set_xlabel('Epoch')
    ax_p.set_title('Active partition: each box is a block group trained on its own '
                   '(input = teacher feature)', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
