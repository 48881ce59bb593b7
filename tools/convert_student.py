"""Export the student of a distillation checkpoint: a classifier or a detection backbone.

    python tools/convert_student.py work_dirs/x/epoch_90.pth student.pth
    python tools/convert_student.py work_dirs/x/epoch_90.pth backbone.pth --backbone-only
    python tools/convert_student.py work_dirs/x/epoch_90.pth    # -> epoch_90_student.pth
    python tools/convert_student.py work_dirs/x/epoch_90.pth --inplace

The first writes the student ``ImageClassifier`` (keys ``backbone.*``, ``neck.*``, ``head.*``)
for mmpretrain; the second only its backbone with the ``backbone.`` prefix stripped, which
mmdet's ``ResNet`` loads with ``init_cfg=dict(type='Pretrained', checkpoint='backbone.pth')``.
Teacher weights, projectors/adapters and optimizer/scheduler state are dropped; ``meta``
keeps ``dataset_meta`` (class names), ``cfg`` and the run's epoch/seed. Without an output
path the export goes beside the input as ``<stem>_student.pth`` (``<stem>_student_backbone.pth``
with ``--backbone-only``); ``--inplace`` replaces the input instead (MMRazor's flag). A file
without student weights (teacher-only, plain classifier), with NaN/Inf student weights, or an
unreadable one exits with status 1 and writes nothing.

The input is read with ``torch.load(weights_only=True)`` and MMEngine's types only (see
``mmstablekd.utils.checkpoint``); ``--unsafe-load`` (or ``MMSTABLEKD_UNSAFE_LOAD=1``) unpickles
it fully, which can run code from the file: only for files you trust.
"""
import argparse
import os
import sys

from mmstablekd.utils.checkpoint import check_writable
from mmstablekd.utils.student_export import CheckpointError, convert_checkpoint, default_output


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the student (or its backbone) of a distillation checkpoint')
    parser.add_argument('src', help='distillation checkpoint (e.g. work_dirs/x/epoch_90.pth)')
    parser.add_argument('dst', nargs='?', default=None,
                        help='output checkpoint path (default: <src stem>_student.pth beside '
                             'the input)')
    parser.add_argument('--inplace', action='store_true',
                        help='replace the input checkpoint by its export')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='unpickle the input fully (MMSTABLEKD_UNSAFE_LOAD=1): this can '
                             'run code from the file; only for files you trust')
    parser.add_argument('--backbone-only', action='store_true',
                        help='write only the backbone, keys without the "backbone." prefix '
                             '(for mmdet init_cfg=dict(type="Pretrained", checkpoint=...))')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        dst = args.src if args.inplace else (
            args.dst or default_output(args.src, args.backbone_only))
        if not os.path.isdir(dst):  # (a directory gets convert_checkpoint's own message)
            check_writable(dst, 'output')  # a read-only destination fails before any reading
        report = convert_checkpoint(args.src, args.dst, backbone_only=args.backbone_only,
                                    inplace=args.inplace, unsafe_load=args.unsafe_load)
    except CheckpointError as e:
        print(f'convert_student: error: {e}', file=sys.stderr)
        return 1
    except OSError as e:  # e.g. a read-only or full destination
        where = e.filename or args.dst or args.src
        print(f'convert_student: error: cannot write the export to {where!r}: '
              f'{e.strerror or e}; nothing was written', file=sys.stderr)
        return 1
    print(report.format())
    print(f'wrote {report.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
