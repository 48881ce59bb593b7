# StableKD-5/3: ResNet-34 -> ResNet-18 (mmpretrain's ImageNet `ResNet`) on ImageNet-1k, 90 epochs.
# This is what produces the detection-ready ResNet-18 of configs/mask_rcnn/ (same `ResNet`
# layout as mmdet's: tools/convert_student.py --backbone-only writes a checkpoint it loads).
# Blocks: {stem+layer1}{layer2}{layer3}{layer4}{neck+head}; training stages of 22/22/22/24
# epochs: {1}{2}{3}{4}{5} -> {12}{34}{5} -> {1234}{5} -> {12345}, one triangular LR cycle per
# stage (amplitude halving every stage).
# Paper App. B (ImageNet): AdamW, peak LR 2e-2 (= optimizer lr 2e-3 x peak_ratio 10), batch 256
# = 8 processes x 32 (tools/dist_train.sh CONFIG 8; on fewer GPUs add --auto-scale-lr or raise
# train_dataloader.batch_size), weight decay 2e-1. Data: mmpretrain's ImageNet pipeline at
# data/imagenet.
#
# Teacher: mmpretrain's released ResNet-34 (73.62 % top-1). Nothing is downloaded at run time:
# fetch it once to the path below,
#   mkdir -p work_dirs/pretrained && wget -P work_dirs/pretrained \
#     https://download.openmmlab.com/mmclassification/v0/resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth
# or pass --cfg-options model.teacher_ckpt=/your/resnet34.pth.
_base_ = [
    '../_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)

teacher = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=34, num_stages=4, out_indices=(3, ), style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=512,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
student = dict(teacher, backbone=dict(teacher['backbone'], depth=18))

num_recompositions = 3  # StableKD-5/3: n+1 = 4 training stages
model = dict(
    type='StableKD',
    student=student,
    teacher=teacher,
    teacher_ckpt='work_dirs/pretrained/resnet34_8xb32_in1k_20210831-f257d4e6.pth',
    boundaries=['backbone.layer1', 'backbone.layer2', 'backbone.layer3', 'backbone.layer4'],
    num_recompositions=num_recompositions,
    probe_input_shape=(3, 224, 224),
    distill_loss=dict(type='KDLoss', tau=1.0, loss_weight=1.0),  # lambda = 1
    feature_loss=dict(type='FeatureMSELoss', loss_weight=1.0))

train_dataloader = dict(batch_size=32)  # x 8 processes = 256
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=2e-1))
param_scheduler = dict(
    type='StageCyclicLR', num_stages=num_recompositions + 1, base_ratio=3e-3, peak_ratio=10.0,
    by_epoch=True, convert_to_iter_based=True)
custom_hooks = [dict(type='StableKDStageHook'), dict(type='StudentCheckpointHook')]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=1)
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
work_dir = './work_dirs/stablekd_resnet18_r34_imagenet'
