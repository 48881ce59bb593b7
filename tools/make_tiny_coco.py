"""Write the tiny COCO-format shapes data set (see :mod:`mmstablekd.datasets.tiny_coco`).

    python tools/make_tiny_coco.py data/tiny_coco [--num-train 16 --num-val 8 --size 128]
"""
import argparse

from mmstablekd.datasets.tiny_coco import make_tiny_coco


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Write a tiny COCO-format shapes data set')
    parser.add_argument('root', help='output folder, e.g. data/tiny_coco')
    parser.add_argument('--num-train', type=int, default=16, help='training images')
    parser.add_argument('--num-val', type=int, default=8, help='validation images')
    parser.add_argument('--size', type=int, default=128, help='image side in pixels')
    parser.add_argument('--max-shapes', type=int, default=3, help='shapes per image, at most')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    files = make_tiny_coco(args.root, num_train=args.num_train, num_val=args.num_val,
                           image_size=args.size, max_shapes=args.max_shapes, seed=args.seed)
    for split, ann_file in files.items():
        print(f'{split}: {ann_file}')


if __name__ == '__main__':
    main()
