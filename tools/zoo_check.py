"""Sweep MMPretrain's model zoo: KD, DIST, SSKD and StableKD with default arguments.

    python tools/zoo_check.py [--out benchmarks/zoo.md] [--families resnet swin ...]

For the smallest ImageClassifier config of every family in mmpretrain's installed configs
(the student as its own teacher, no checkpoint), builds each method with defaults and takes one
training step on a random batch at the config's crop size; writes a Markdown table (see
``mmstablekd/utils/zoo.py``).
"""
import argparse
import os
import sys

from mmstablekd.utils.zoo import sweep, zoo_markdown


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='KD/DIST/SSKD/StableKD over the MMPretrain zoo')
    parser.add_argument('--out', default='benchmarks/zoo.md', help='Markdown file to write')
    parser.add_argument('--families', nargs='+', help='only these config folders')
    parser.add_argument('--root', help="configs folder (default: mmpretrain's .mim/configs)")
    args = parser.parse_args(argv)
    command = 'python tools/zoo_check.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    def write(rows):  # after every family, so an interrupted sweep leaves its rows
        with open(args.out, 'w') as f:
            f.write(zoo_markdown(rows, command.strip()))

    sweep(args.root, args.families, log=lambda msg: print(msg, flush=True), on_row=write)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
