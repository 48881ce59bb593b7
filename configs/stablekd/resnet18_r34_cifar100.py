# StableKD-5/2: ResNet-34 -> ResNet-18 (mmpretrain ResNet_CIFAR) on CIFAR-100, 60 epochs.
# Paper (StableKD, Fig. 4/Table 5): 79.39 % top-1 at 60 epochs (teacher 78.39 %).
# Blocks: {stem+layer1}{layer2}{layer3}{layer4}{neck+head}; stages {1}{2}{3}{4}{5} ->
# {12}{34}{5} -> {1234}{5}, each floor(e/3) epochs (the last one the rest), with one
# triangular LR cycle per stage (base 3e-3*lr, peak 10*lr = 0.5, amplitude halving) and the
# momentum cycling inversely (StageCyclicMomentum).
_base_ = [
    '../_base_/datasets/cifar100_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)

teacher = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=34, num_stages=4, out_indices=(3, ), style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=512,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
student = dict(teacher, backbone=dict(teacher['backbone'], depth=18))

num_recompositions = 2  # StableKD-5/2: n+1 = 3 training stages
model = dict(
    type='StableKD',
    student=student,
    teacher=teacher,
    teacher_ckpt='work_dirs/teachers_resnet34_cifar100/epoch_200.pth',
    boundaries=['backbone.layer1', 'backbone.layer2', 'backbone.layer3', 'backbone.layer4'],
    num_recompositions=num_recompositions,
    distill_loss=dict(type='KDLoss', tau=1.0, loss_weight=1.0),  # lambda = 1
    feature_loss=dict(type='FeatureMSELoss', loss_weight=1.0))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))  # peak = 10*lr = 0.5
# DnD Table 5 (Progressive DnD): CyclicLR triangular2, base 3e-3*lr, max 10*lr, the rest
# PyTorch's defaults, which also cycle the momentum inversely (0.9 at base LR, 0.8 at peak).
param_scheduler = [
    dict(type='StageCyclicLR', num_stages=num_recompositions + 1, base_ratio=3e-3,
         peak_ratio=10.0, by_epoch=True, convert_to_iter_based=True),
    dict(type='StageCyclicMomentum', num_stages=num_recompositions + 1, base_momentum=0.8,
         max_momentum=0.9, by_epoch=True, convert_to_iter_based=True),
]
custom_hooks = [
    dict(type='StableKDStageHook'),
    dict(type='StudentCheckpointHook'),
]
train_cfg = dict(by_epoch=True, max_epochs=60, val_interval=1)
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
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100'
