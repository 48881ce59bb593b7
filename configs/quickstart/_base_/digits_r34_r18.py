# Quickstart data and network sizes: scikit-learn's 8x8 handwritten digits (10 classes, 1,437
# train / 360 test images; written to data/digits by mmstablekd.datasets.digits, e.g. by
# `python tools/quickstart.py`), resized to 16x16, and ResNet_CIFAR widths 16-32-64-128.
# The quickstart configs list this file *next to* a real method config and assign the
# variables below to the method's keys; the names are prefixed with `digits_` so they never
# clash with the method config's own keys.
digits_size = 16
digits_root = 'data/digits'
# LocalCustomDataset: mmpretrain's CustomDataset; when the folder is missing (a fresh clone) it
# stops at data set build and names the command that writes it (mmstablekd/datasets/local_data.py).
digits_get_data = ('python tools/quickstart.py writes it (then trains the whole quickstart); '
                   'to write only the data: python -c "from mmstablekd.datasets.digits import '
                   "write_digits_dataset; write_digits_dataset('data/digits')\"")
digits_preprocessor = dict(num_classes=10, mean=[77.85] * 3, std=[95.85] * 3, to_rgb=False)
digits_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(digits_size, digits_size), interpolation='bilinear'),
    dict(type='RandomCrop', crop_size=digits_size, padding=2),
    dict(type='PackInputs'),
]
digits_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(digits_size, digits_size), interpolation='bilinear'),
    dict(type='PackInputs'),
]
digits_train_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='LocalCustomDataset', data_root=digits_root,
                 get_data=digits_get_data,
                 data_prefix='train', pipeline=digits_train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
digits_val_dataloader = dict(
    batch_size=120, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='LocalCustomDataset', data_root=digits_root,
                 get_data=digits_get_data,
                 data_prefix='test', pipeline=digits_test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
# Merged into the teacher's and the student's ImageClassifier configs (ResNet-34 / -18 keep
# their depths; only widths and the number of classes change).
digits_arch = dict(backbone=dict(stem_channels=16, base_channels=16),
                   head=dict(num_classes=10, in_channels=128))
digits_teacher_epochs = 15
# Written by `python tools/train.py configs/quickstart/teacher_r34_digits.py` (and reused by
# `python tools/quickstart.py`, which trains it there if it is missing).
digits_teacher_ckpt = ('work_dirs/quickstart_teacher_r34_digits/'
                       f'epoch_{digits_teacher_epochs}.pth')
# A checkpoint every epoch, the last 3 kept, so `--resume` continues after a crash.
digits_default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3),
                            logger=dict(interval=20))
