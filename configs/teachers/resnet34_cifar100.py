# ResNet-34 (mmpretrain ResNet_CIFAR) on CIFAR-100: the teacher the StableKD configs distil
# from. The StableKD paper's teacher reaches 78.39 % top-1.
#   python tools/train.py configs/teachers/resnet34_cifar100.py
# writes work_dirs/teachers_resnet34_cifar100/epoch_200.pth, the default teacher_ckpt of the
# CIFAR-100 distillation configs.
_base_ = [
    'mmpretrain::_base_/models/resnet34_cifar.py',
    '../_base_/datasets/cifar100_bs128.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)  # the hooks below

model = dict(head=dict(num_classes=100))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[60, 120, 160], gamma=0.2)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
# Checkpoint every epoch and keep the last 3 (a crash loses at most one epoch); stop at a
# NaN/inf loss, one training run per work dir, bit-identical --resume (README: "What
# happens when things go wrong").
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
                     nonfinite_guard=dict(type='NonFiniteGuardHook'),
                     work_dir_lock=dict(type='WorkDirLockHook'),
                     resume_state=dict(type='ResumeStateHook'),
                     logger=dict(type='LoggerHook', interval=50))
work_dir = './work_dirs/teachers_resnet34_cifar100'
