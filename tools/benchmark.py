"""Benchmark StableKD against KD, DIST, SSKD (and a scratch student) on the quickstart digits.

Part 1 (convergence): top-1 of every method at epoch budgets E, 2E, ... with several seeds, on
the whole digits training split and on class-balanced 20 % and 10 % of it (the teacher is
trained on the whole split, as in paper Table 2), and per data fraction the epochs every
method needs to reach vanilla KD's final accuracy at the largest budget.
Part 2 (cost): time per training iteration and peak step memory of every method (every stage)
on the same batch, as ratios to vanilla KD, and our KD step vs a plain-PyTorch KD step: at
digits size (16x16, width 16, batch 32, on --digits-device) and at paper size (full-width
ResNet_CIFAR-34 -> 18, 32x32, batch 64, on --device: CUDA when available).
Writes a markdown report (default benchmarks/results.md) that starts with this exact command.
The logic lives in :mod:`kdbench.benchmark` (next to this file), the methods in
:mod:`kdbench.methods` and the targets the report checks in :mod:`kdbench.targets`.

    python tools/benchmark.py                                  # everything, defaults
    python tools/benchmark.py --skip-convergence               # timing only
    python tools/benchmark.py --skip-timing --skip-paper-timing --fractions 0.1 \\
        --out benchmarks/results_10.md                         # one low-data row only
    python tools/benchmark.py --methods KD StableKD-5/2 --base-epochs 3 --multiples 1 2 4
    python tools/benchmark.py --suite crd    # CRD pair ResNet-56 -> ResNet-20, all methods
"""
import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')

import torch  # noqa: E402
from mmengine.utils.dl_utils import collect_env  # noqa: E402

from kdbench import benchmark as bm  # noqa: E402
from kdbench.methods import QUICKSTART, select  # noqa: E402
from kdbench.quickstart import ensure_teacher  # noqa: E402
from mmstablekd.datasets.digits import write_digits_dataset  # noqa: E402


DEFAULT_OUT = 'benchmarks/results.md'


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--out', default=DEFAULT_OUT, help='markdown report')
    p.add_argument('--methods', nargs='+', default=None,
                   help='convergence methods (quickstart names); default: all')
    p.add_argument('--base-epochs', type=int, default=3, help='E')
    p.add_argument('--multiples', type=int, nargs='+', default=[1, 2, 4],
                   help='budgets are these multiples of E')
    p.add_argument('--fractions', type=float, nargs='+', default=[1.0, 0.2, 0.1],
                   help='convergence rows: class-balanced fractions of the training split')
    p.add_argument('--low-data-base-epochs', type=int, default=4,
                   help='E of the rows with a fraction < 1 (an epoch there has fewer '
                        'iterations: 9 at 20 %%, 5 at 10 %%)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--rounds', type=int, default=15, help='timing rounds (median over them)')
    p.add_argument('--inner', type=int, default=3, help='steps per timing sample')
    p.add_argument('--digits-device', default='cpu', help='device of the digits-size timing')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                   help='device of the paper-size timing (default: cuda when available)')
    p.add_argument('--paper-methods', nargs='+', default=None,
                   help='paper-size timing methods (default: KD StableKD-1/0 StableKD-5/2 '
                        'on CPU, all on CUDA); the first is the reference')
    p.add_argument('--paper-rounds', type=int, default=None,
                   help='paper-size timing rounds (default: 3 on CPU, 15 on CUDA)')
    p.add_argument('--paper-batch', type=int, default=64)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--skip-convergence', action='store_true')
    p.add_argument('--skip-timing', action='store_true', help='no digits-size timing')
    p.add_argument('--skip-paper-timing', action='store_true', help='no paper-size timing')
    p.add_argument('--data-root', default='data/digits')
    p.add_argument('--work-root', default='work_dirs')
    p.add_argument('--run-dir', default='work_dirs/benchmark')
    p.add_argument('--suite', choices=['digits', 'crd'], default='digits',
                   help="'crd': convergence of the CRD-suite pair ResNet-56 -> ResNet-20 "
                        '(configs/quickstart/crd_*.py) instead of both parts; report default '
                        'benchmarks/crd_digits.md')
    return p.parse_args(argv)


def machine(device: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if 'model name' in line)
    except (OSError, StopIteration):
        pass
    env = collect_env()  # MMEngine's environment report (what its Runner logs)
    return (f'{cpu}, {os.cpu_count()} logical CPUs, Python {env["Python"].split()[0]}, '
            f'torch {env["PyTorch"]}, MMEngine {env["MMEngine"]}, '
            f'{torch.get_num_threads()} torch thread(s), device {device}')


def crd_part(args: argparse.Namespace, say) -> list:
    """Convergence of every method on the CRD-suite pair (ResNet-56 -> ResNet-20), as lines."""
    budgets = [args.base_epochs * m for m in args.multiples]
    records, teacher, notes = bm.crd_suite(budgets, args.seeds, args.data_root, args.work_root,
                                           args.run_dir, say)
    lines = ['## CRD suite on the digits: ResNet-56 -> ResNet-20 (CifarResNet), top-1 (%) '
             f'median (mean ± std) over seeds {args.seeds}', '',
             f'Teacher (ResNet-56, {teacher.epochs} epochs): {teacher.final_top1:.2f} %.', '',
             bm.format_convergence_table(records, budgets), '', *[f'- {n}' for n in notes], '']
    print('\n'.join(lines), flush=True)
    return lines


def paper_timing(args, say) -> list:
    """The paper-size timing section (markdown lines)."""
    cpu = not args.device.startswith('cuda')
    names = args.paper_methods or (['KD', 'StableKD-1/0', 'StableKD-5/2'] if cpu else None)
    rounds = args.paper_rounds or (3 if cpu else 15)
    inner, warmup = (1, 1) if cpu else (args.inner, 3)
    say(f'timing one training step at paper size on {args.device} ({rounds} rounds) ...')
    rows = bm.time_train_steps(bm.paper_methods(names), rounds=rounds, inner=inner,
                               warmup=warmup, device=args.device,
                               batch=bm.synthetic_batch(args.paper_batch, 32, 100))
    goal = bm.paper_step_goal(rows)
    return ['## Time and memory per training iteration at paper size (full-width '
            f'ResNet_CIFAR-34 -> 18, 100 classes, batch of {args.paper_batch} 32x32 images, '
            f'{args.device}; {rounds} rounds of {inner} step(s))', '',
            bm.format_timing_table(rows), '', *bm.timing_targets(rows),
            *([goal] if goal else []), '']


def convergence_rows(args, say) -> list:
    """One convergence section per data fraction (markdown lines)."""
    selected = select(args.methods, QUICKSTART)
    teacher_ckpt, teacher = ensure_teacher(args.data_root, args.work_root, say)
    parts = []
    for fraction in args.fractions:
        base = args.base_epochs if fraction >= 1 else args.low_data_base_epochs
        budgets = [base * m for m in args.multiples]
        pct = f'{100 * fraction:g} %'
        say(f'== convergence on {pct} of the training split')
        run_dir = os.path.join(args.run_dir, f'train{100 * fraction:g}')
        records, notes = bm.convergence(selected, budgets, args.seeds, args.data_root,
                                        run_dir, teacher_ckpt, say,
                                        train_fraction=fraction)
        reach = bm.reach_rows(records)
        goals = [bm.convergence_target(records, base)]
        if fraction < 1:
            goals.append(bm.reach_goal(reach, f'{pct} of the data'))
        sec = [f'## Convergence on {pct} of the digits training split: top-1 (%) median '
               f'(mean ± std) over seeds {args.seeds}', '',
               f'Teacher (ResNet-34, {teacher.epochs} epochs, whole training split): '
               f'{teacher.final_top1:.2f} %.', '',
               bm.format_convergence_table(records, budgets), '',
               f'### Epochs to reach KD\'s final accuracy ({pct} of the data)', '',
               bm.format_reach_table(reach), '']
        sec += [g for g in goals if g] + [f'- {n}' for n in notes] + ['']
        print('\n'.join(sec), flush=True)
        parts += sec
    return parts


def main(argv=None) -> None:
    args = parse_args(argv)
    select(args.methods, QUICKSTART)  # unknown names fail now, not after the timing parts
    if args.paper_methods:
        bm.paper_methods(args.paper_methods)
    torch.set_num_threads(args.threads)
    say_t0 = time.perf_counter()

    def say(line: str) -> None:
        el = int(time.perf_counter() - say_t0)
        print(f'[{el // 60:2d}:{el % 60:02d}] {line}', flush=True)

    command = 'python tools/benchmark.py ' + ' '.join(shlex.quote(a) for a in sys.argv[1:])
    load0 = os.getloadavg()
    write_digits_dataset(args.data_root)
    parts = []
    if args.suite == 'crd':
        parts += crd_part(args, say)
    elif not args.skip_timing:
        say('timing one training step of every method and stage at digits size ...')
        rows = bm.time_train_steps(data_root=args.data_root, rounds=args.rounds,
                                   inner=args.inner, device=args.digits_device)
        parts += ['## Time and memory per training iteration at digits size (same batch of 32 '
                  f'digit images, 16x16, width 16, {args.digits_device})', '',
                  bm.format_timing_table(rows), '', *bm.timing_targets(rows), '']
        print('\n'.join(parts), flush=True)
    if args.suite == 'digits' and not args.skip_paper_timing:
        paper = paper_timing(args, say)
        print('\n'.join(paper), flush=True)
        parts += paper
    if args.suite == 'digits' and not args.skip_convergence:
        parts += convergence_rows(args, say)
    load1 = os.getloadavg()
    elapsed = time.perf_counter() - say_t0
    devices = f'digits timing on {args.digits_device}, paper-size timing on {args.device}'
    header = ['# mmstablekd benchmark (digits quickstart)', '',
              f'Command: `{command}`', '',
              f'Machine: {machine(devices)}. Load average (1 min) {load0[0]:.1f} at the start, '
              f'{load1[0]:.1f} at the end (a value near or above the number of CPUs means '
              f'other processes shared the CPU). Total time {elapsed / 60:.1f} min.', '']
    out = Path('benchmarks/crd_digits.md' if args.suite == 'crd' and args.out == DEFAULT_OUT
               else args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text('\n'.join(header + parts) + '\n')
    say(f'report written to {out}')


if __name__ == '__main__':
    main()
