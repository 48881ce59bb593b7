"""Quickstart: StableKD vs KD, DIST, SSKD and a scratch student on real digit images, on CPU.

Writes scikit-learn's 8x8 digits to data/digits (once), trains the ResNet-34 teacher (once),
trains every method for a few epochs with several seeds, prints the table and writes
work_dirs/quickstart/{results.md,results.json,val_accuracy.png,stablekd_timeline.png}.
The arguments are checked before anything trains. The logic lives in
:mod:`kdbench.quickstart` (next to this file); the methods are the rows of
:mod:`kdbench.methods`.

    python tools/quickstart.py                       # defaults (what `make demo` runs)
    python tools/quickstart.py --epochs 3 --seeds 0 --methods KD StableKD-5/2
"""
import argparse
import os
import sys
import warnings

os.environ.setdefault('OMP_NUM_THREADS', '1')
# Known third-party noise that would bury the progress lines: mmengine's pkg_resources use
# (setuptools < 82 is pinned on purpose).
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

from kdbench.methods import QUICKSTART, rows  # noqa: E402
from kdbench.quickstart import check_arguments, run_comparison  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    methods = ', '.join(f'{m.name!r} (>= {m.min_epochs} epochs)' for m in rows(QUICKSTART))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--epochs', type=int, default=6,
                   help='epoch budget of every method (at least the largest minimum of the '
                        'selected methods)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2], help='seeds per method')
    p.add_argument('--methods', nargs='+', default=None,
                   help=f'subset of: {methods}; default: all')
    p.add_argument('--data-root', default='data/digits', help='where the digits are written')
    p.add_argument('--work-root', default='work_dirs',
                   help='parent of the teacher work dir (work_dirs/quickstart_teacher_r34_digits)')
    p.add_argument('--out-dir', default='work_dirs/quickstart',
                   help='results.md, results.json and the PNGs')
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads (1 is fastest for these tiny networks on a shared CPU)')
    p.add_argument('--teacher-epochs', type=int, default=None,
                   help="teacher budget (default: its config's)")
    p.add_argument('--retrain-teacher', action='store_true',
                   help='train the teacher even if its checkpoint exists')
    p.add_argument('--no-plots', action='store_true', help='write no PNGs')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:  # refuse bad arguments now, not after minutes of training
        check_arguments(args.methods, args.epochs, args.seeds, args.data_root, args.work_root,
                        args.out_dir, args.teacher_epochs)
    except ValueError as e:
        print(f'quickstart: error: {e}', file=sys.stderr)
        return 2
    result = run_comparison(methods=args.methods, epochs=args.epochs, seeds=args.seeds,
                            data_root=args.data_root, work_root=args.work_root,
                            out_dir=args.out_dir, threads=args.threads,
                            retrain_teacher=args.retrain_teacher,
                            teacher_epochs=args.teacher_epochs, plots=not args.no_plots,
                            progress=lambda line: print(line, flush=True))
    print()
    print(result['table'])
    print()
    for kind, path in result['files'].items():
        print(f'{kind:>13}: {path}')
    sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
