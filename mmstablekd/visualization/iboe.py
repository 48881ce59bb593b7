"""Side-by-side plots of the IBOE proxies that ``IBOEHook`` logs (e.g. KD vs StableKD)."""
import glob
import json
import os.path as osp
from typing import Dict, List, Tuple

Series = Dict[str, List[Tuple[int, float]]]


def read_iboe_scalars(work_dir: str) -> Series:
    """Collect the IBOE series of one run from ``work_dir/*/vis_data/scalars.json``.

    Args:
        work_dir (str): The run's work dir (as given to ``tools/train.py --work-dir``).

    Returns:
        dict: key -> list of (step, value), sorted by step, for ``accuracy/top1`` and every
        ``iboe/...`` key (``iboe/param_dist/<module>`` by iteration; ``iboe/acc_delta``,
        ``iboe/acc_std`` and ``accuracy/top1`` by epoch). A resumed run's later lines win.
    """
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir!r}; was the run '
                                'logged with a LocalVisBackend?')
    series: Dict[str, Dict[int, float]] = {}
    for path in files:
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                for key, value in record.items():
                    if key.startswith('iboe/') or key == 'accuracy/top1':
                        series.setdefault(key, {})[int(record['step'])] = float(value)
    return {k: sorted(v.items()) for k, v in series.items()}


def plot_iboe(runs: Dict[str, str], path: str, module_path: str = 'student.head') -> str:
    """Plot the IBOE proxies of several runs side by side.

    Three panels: the parameter step distance of ``module_path`` per iteration, the
    validation top-1 per epoch and its epoch-to-epoch change ``iboe/acc_delta``; one line per
    run.

    Args:
        runs (dict): label -> work dir, e.g. ``{'KD': 'work_dirs/kd', 'StableKD': ...}``.
        path (str): Output image (``.png``).
        module_path (str): Module whose ``iboe/param_dist/<module_path>`` is plotted.

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    key = f'iboe/param_dist/{module_path}'
    panels = [(key, 'iteration', f'||Δθ|| of {module_path}'),
              ('accuracy/top1', 'epoch', 'val top-1 (%)'),
              ('iboe/acc_delta', 'epoch', '|Δ val top-1| (%)')]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for label, work_dir in runs.items():
        series = read_iboe_scalars(work_dir)
        if key not in series:
            raise KeyError(f'run {label!r} ({work_dir}) logged no {key!r}; logged: '
                           f'{sorted(series)}')
        for ax, (name, _, _) in zip(axes, panels):
            points = series.get(name, [])
            ax.plot([s for s, _ in points], [v for _, v in points], label=label,
                    marker='.' if name != key else None)
    for ax, (_, xlabel, ylabel) in zip(axes, panels):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_yscale('log')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
