# StableKD-5/3 with a timm student: timm's ResNet-18 (through mmpretrain's TIMMBackbone,
# pretrained=False) learns from mmpretrain's ResNet-34 (73.62 % top-1) on ImageNet-1k.
# Not a pair of the paper: it shows that boundaries are plain module paths in either
# network -- timm's `backbone.timm_model.layerI` in the student, mmpretrain's
# `backbone.layerI` in the teacher, same shapes (N, 64..512, 56..7, 56..7) at 224x224.
# Blocks {stem+layer1}{layer2}{layer3}{layer4}{pool+fc}; 4 training stages of 25 epochs.
# The schedule carries the paper's ResNet recipe (SGD, per-stage triangular2 LR, peak 5x the
# usual baseline LR: 0.5 at batch 256) over to ImageNet; it is not tuned.
_base_ = [
    '../_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)

head = dict(type='LinearClsHead', num_classes=1000, in_channels=512,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5))
teacher = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=34, num_stages=4, out_indices=(3, ), style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=head)
student = dict(
    type='ImageClassifier',
    backbone=dict(type='TIMMBackbone', model_name='resnet18', pretrained=False),
    neck=dict(type='GlobalAveragePooling'),
    head=head)

num_recompositions = 3  # StableKD-5/3
model = dict(
    type='StableKD',
    student=student,
    teacher=teacher,
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/'
                 'resnet34_8xb32_in1k_20210831-f257d4e6.pth',
    boundaries=[f'backbone.timm_model.layer{i}' for i in range(1, 5)],
    teacher_boundaries=[f'backbone.layer{i}' for i in range(1, 5)],
    num_recompositions=num_recompositions,
    probe_input_shape=(3, 224, 224),
    distill_loss=dict(type='KDLoss', tau=1.0, loss_weight=1.0),
    feature_loss=dict(type='FeatureMSELoss', loss_weight=1.0))

train_dataloader = dict(batch_size=32)  # x 8 processes = 256
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))  # peak 0.5
param_scheduler = dict(
    type='StageCyclicLR', num_stages=num_recompositions + 1, base_ratio=3e-3, peak_ratio=10.0,
    by_epoch=True, convert_to_iter_based=True)
custom_hooks = [dict(type='StableKDStageHook'), dict(type='StudentCheckpointHook')]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
# Checkpoint every epoch and keep the last 3 (a crash loses at most one epoch); stop at a
# NaN/inf loss, one training run per work dir, bit-identical --resume (README: "What
# happens when things go wrong").
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
                     nonfinite_guard=dict(type='NonFiniteGuardHook'),
                     work_dir_lock=dict(type='WorkDirLockHook'),
                     resume_state=dict(type='ResumeStateHook'))
# Every student parameter is trained in every stage: no unused-parameter search under DDP.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)
work_dir = './work_dirs/stablekd_timm-resnet18_resnet34_imagenet'
