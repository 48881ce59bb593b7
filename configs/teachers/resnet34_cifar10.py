# ResNet-34 on CIFAR-10: mmpretrain's own recipe, unmodified but for the default hooks below
# (checkpoints, run guards). The teacher of
# configs/kd/resnet18_r34_mmpretrain-cifar10.py:
#   python tools/train.py configs/teachers/resnet34_cifar10.py
# writes work_dirs/teachers_resnet34_cifar10/epoch_200.pth.
_base_ = ['mmpretrain::resnet/resnet34_8xb16_cifar10.py']
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)  # the hooks below
# Checkpoint every epoch and keep the last 3 (a crash loses at most one epoch); stop at a
# NaN/inf loss, one training run per work dir, bit-identical --resume (README: "What
# happens when things go wrong").
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
                     nonfinite_guard=dict(type='NonFiniteGuardHook'),
                     work_dir_lock=dict(type='WorkDirLockHook'),
                     resume_state=dict(type='ResumeStateHook'))
# Data: the CIFAR-10 files under data/cifar10, read by LocalCIFAR10 (mmpretrain's CIFAR10
# without its automatic download: missing files stop at data set build with one message
# naming the path, the layout and the download URL; mmstablekd/datasets/local_data.py).
train_dataloader = dict(dataset=dict(type='LocalCIFAR10'))
val_dataloader = dict(dataset=dict(type='LocalCIFAR10'))
test_dataloader = val_dataloader
work_dir = './work_dirs/teachers_resnet34_cifar10'
