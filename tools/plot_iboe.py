"""Plot the IBOE proxies (IBOEHook) of several runs side by side.

    python tools/plot_iboe.py iboe.png KD=work_dirs/stablekd_resnet18_r34_cifar100_1-0_iboe \
        StableKD=work_dirs/stablekd_resnet18_r34_cifar100_iboe [--module student.head]
"""
import argparse

from mmstablekd.visualization.iboe import plot_iboe


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='Plot IBOE proxies of several runs')
    parser.add_argument('out', help='output image, e.g. iboe.png')
    parser.add_argument('runs', nargs='+', help='LABEL=WORK_DIR of each run')
    parser.add_argument('--module', default='student.head',
                        help='module path of the plotted parameter step distance')
    args = parser.parse_args(argv)
    runs = {}
    for item in args.runs:
        label, sep, work_dir = item.partition('=')
        if not sep:
            parser.error(f'runs must be LABEL=WORK_DIR, got {item!r}')
        runs[label] = work_dir
    print(plot_iboe(runs, args.out, args.module))


if __name__ == '__main__':
    main()
