"""Export the student of a distillation checkpoint: a classifier or a detection backbone.

    python tools/convert_student.py work_dirs/x/epoch_90.pth student.pth
    python tools/convert_student.py work_dirs/x/epoch_90.pth backbone.pth --backbone-only

The first writes the student ``ImageClassifier`` (keys ``backbone.*``, ``neck.*``, ``head.*``)
for mmpretrain; the second only its backbone with the ``backbone.`` prefix stripped, which
mmdet's ``ResNet`` loads with ``init_cfg=dict(type='Pretrained', checkpoint='backbone.pth')``.
Teacher weights, projectors/adapters and optimizer/scheduler state are dropped. A file without
student weights (teacher-only, plain classifier) or an unreadable one exits with status 1.
Loading unpickles the checkpoint fully (see ``mmstablekd.utils.checkpoint``): trusted files only.
"""
import argparse
import sys

from mmstablekd.utils.student_export import CheckpointError, convert_checkpoint


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the student (or its backbone) of a distillation checkpoint')
    parser.add_argument('src', help='distillation checkpoint (e.g. work_dirs/x/epoch_90.pth)')
    parser.add_argument('dst', help='output checkpoint path')
    parser.add_argument('--backbone-only', action='store_true',
                        help='write only the backbone, keys without the "backbone." prefix '
                             '(for mmdet init_cfg=dict(type="Pretrained", checkpoint=...))')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        report = convert_checkpoint(args.src, args.dst, backbone_only=args.backbone_only)
    except CheckpointError as e:
        print(f'convert_student: error: {e}', file=sys.stderr)
        return 1
    print(report.format())
    print(f'wrote {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
