# Distilling an *unmodified* MMPretrain config: mmpretrain's own ResNet-18 CIFAR-10 recipe
# (its data pipeline, SGD + MultiStepLR schedule, 200 epochs and runtime, all untouched
# but for the checkpoint/run-guard hooks)
# becomes vanilla KD from a ResNet-34 by replacing `model` alone. Switch the method by
# changing `type` (e.g. 'DIST'; 'SSKD' and 'StableKD' also need their stage hook, see
# configs/sskd and configs/stablekd).
# The teacher is mmpretrain's ResNet-34 CIFAR-10 recipe, unmodified as well:
#   python tools/train.py configs/teachers/resnet34_cifar10.py
_base_ = ['mmpretrain::resnet/resnet18_8xb16_cifar10.py']
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)
# Checkpoint every epoch and keep the last 3 (a crash loses at most one epoch); stop at a
# NaN/inf loss, one training run per work dir, bit-identical --resume (README: "What
# happens when things go wrong").
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
                     nonfinite_guard=dict(type='NonFiniteGuardHook'),
                     work_dir_lock=dict(type='WorkDirLockHook'),
                     resume_state=dict(type='ResumeStateHook'))

model = dict(
    _delete_=True,
    type='VanillaKD',
    student=_base_.model,  # mmpretrain's ImageClassifier config, as is
    teacher=dict(_base_.model, backbone=dict(_base_.model.backbone, depth=34)),
    teacher_ckpt='work_dirs/teachers_resnet34_cifar10/epoch_200.pth')
# Data: the CIFAR-10 files under data/cifar10, read by LocalCIFAR10 (mmpretrain's CIFAR10
# without its automatic download: missing files stop at data set build with one message
# naming the path, the layout and the download URL; mmstablekd/datasets/local_data.py).
train_dataloader = dict(dataset=dict(type='LocalCIFAR10'))
val_dataloader = dict(dataset=dict(type='LocalCIFAR10'))
test_dataloader = val_dataloader
work_dir = './work_dirs/kd_resnet18_r34_mmpretrain-cifar10'
