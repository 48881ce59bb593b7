"""Quickstart: StableKD vs KD, DIST, SSKD and a scratch student on real digit images, on CPU.

Writes scikit-learn's 8x8 digits to data/digits (once), trains the ResNet-34 teacher (once),
trains every method for a few epochs with several seeds, prints the table and writes
work_dirs/quickstart/{results.md,results.json,val_accuracy.png,stablekd_timeline.png}.
The logic lives in :mod:`mmstablekd.apis.quickstart`.

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

from mmstablekd.apis.quickstart import METHODS, run_comparison  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=6, help='epoch budget of every method')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--methods', nargs='+', default=None,
                   help='subset of: ' + ', '.join(repr(n) for n, _ in METHODS))
    p.add_argument('--data-root', default='data/digits')
    p.add_argument('--work-root', default='work_dirs',
                   help='parent of the teacher work dir (work_dirs/quickstart_teacher_r34_digits)')
    p.add_argument('--out-dir', default='work_dirs/quickstart')
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads (1 is fastest for these tiny networks on a shared CPU)')
    p.add_argument('--retrain-teacher', action='store_true')
    p.add_argument('--no-plots', action='store_true')
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    result = run_comparison(methods=args.methods, epochs=args.epochs, seeds=args.seeds,
                            data_root=args.data_root, work_root=args.work_root,
                            out_dir=args.out_dir, threads=args.threads,
                            retrain_teacher=args.retrain_teacher, plots=not args.no_plots,
                            progress=lambda line: print(line, flush=True))
    print()
    print(result['table'])
    print()
    for kind, path in result['files'].items():
        print(f'{kind:>13}: {path}')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
