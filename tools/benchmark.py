"""Benchmark StableKD against KD, DIST, SSKD (and a scratch student) on the quickstart digits.

Part 1 (convergence): top-1 of every method at epoch budgets E, 2E, ... with several seeds.
Part 2 (cost): time per training iteration and peak step memory of every method (every stage)
on the same batch, as ratios to vanilla KD, and our KD step vs a plain-PyTorch KD step.
Writes a markdown report (default benchmarks/results.md) that starts with this exact command.
The logic lives in :mod:`mmstablekd.apis.benchmark`.

    python tools/benchmark.py                                  # both parts, defaults
    python tools/benchmark.py --skip-convergence               # timing only (~1 min)
    python tools/benchmark.py --methods KD StableKD-5/2 --base-epochs 3 --multiples 1 2 3 4
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

from mmstablekd.apis import benchmark as bm  # noqa: E402
from mmstablekd.apis.quickstart import available_methods, ensure_teacher  # noqa: E402
from mmstablekd.datasets.digits import write_digits_dataset  # noqa: E402


DEFAULT_OUT = 'benchmarks/results.md'


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=DEFAULT_OUT, help='markdown report')
    p.add_argument('--methods', nargs='+', default=None,
                   help='convergence methods (quickstart names); default: all')
    p.add_argument('--base-epochs', type=int, default=3, help='E')
    p.add_argument('--multiples', type=int, nargs='+', default=[1, 2, 3, 4],
                   help='budgets are these multiples of E')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--rounds', type=int, default=15, help='timing rounds (median over them)')
    p.add_argument('--inner', type=int, default=3, help='steps per timing sample')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--skip-convergence', action='store_true')
    p.add_argument('--skip-timing', action='store_true')
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


def main(argv=None) -> None:
    args = parse_args(argv)
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
        say('timing one training step of every method and stage ...')
        rows = bm.time_train_steps(data_root=args.data_root, rounds=args.rounds,
                                   inner=args.inner, device=args.device)
        parts += ['## Time and memory per training iteration (same batch of 32 digit images, '
                  '16x16)', '', bm.format_timing_table(rows), '', *bm.timing_targets(rows), '']
        print('\n'.join(parts), flush=True)
    if args.suite == 'digits' and not args.skip_convergence:
        selected = available_methods(args.methods)
        teacher_ckpt, teacher = ensure_teacher(args.data_root, args.work_root, say)
        budgets = [args.base_epochs * m for m in args.multiples]
        records, notes = bm.convergence(selected, budgets, args.seeds, args.data_root,
                                        args.run_dir, teacher_ckpt, say)
        target = bm.convergence_target(records, args.base_epochs)
        conv = [f'## Convergence: top-1 (%) median (mean ± std) over seeds {args.seeds}', '',
                f'Teacher (ResNet-34, {teacher.epochs} epochs): {teacher.final_top1:.2f} %.', '',
                bm.format_convergence_table(records, budgets), '']
        conv += ([target] if target else []) + [f'- {n}' for n in notes] + ['']
        print('\n'.join(conv), flush=True)
        parts += conv
    load1 = os.getloadavg()
    elapsed = time.perf_counter() - say_t0
    header = ['# mmstablekd benchmark (digits quickstart)', '',
              f'Command: `{command}`', '',
              f'Machine: {machine(args.device)}. Load average (1 min) {load0[0]:.1f} at the start, '
              f'{load1[0]:.1f} at the end (a value near or above the number of CPUs means '
              f'other processes shared the CPU). Total time {elapsed / 60:.1f} min.', '']
    out = Path('benchmarks/crd_digits.md' if args.suite == 'crd' and args.out == DEFAULT_OUT
               else args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text('\n'.join(header + parts) + '\n')
    say(f'report written to {out}')


if __name__ == '__main__':
    main()
