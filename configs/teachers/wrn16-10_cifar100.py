# WRN16-10 (pre-activation Wide ResNet, mmstablekd's WideResNet_CIFAR, 17.1M parameters) on
# CIFAR-100: the teacher of configs/stablekd/wrn16-8_wrn16-10_cifar100.py (StableKD paper,
# Table 6: 79.69 %). The WRN paper's schedule: SGD (Nesterov) lr 0.1, wd 5e-4, batch 128,
# 200 epochs, lr x0.2 at 60/120/160.
#   python tools/train.py configs/teachers/wrn16-10_cifar100.py
# writes work_dirs/teachers_wrn16-10_cifar100/epoch_200.pth.
_base_ = [
    '../_base_/datasets/cifar100_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='WideResNet_CIFAR', depth=16, widen_factor=10),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=640,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[60, 120, 160], gamma=0.2)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# Checkpoint every epoch and keep the last 3 (a crash loses at most one epoch); stop at a
# NaN/inf loss, one training run per work dir, bit-identical --resume (README: "What
# happens when things go wrong").
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
                     nonfinite_guard=dict(type='NonFiniteGuardHook'),
                     work_dir_lock=dict(type='WorkDirLockHook'),
                     resume_state=dict(type='ResumeStateHook'),
                     logger=dict(type='LoggerHook', interval=50))
work_dir = './work_dirs/teachers_wrn16-10_cifar100'
