# StableKD-5/3: Swin-S -> Swin-T on ImageNet-1k (StableKD paper, Table 1: 82.61 % top-1 after
# 300 epochs, 81.51 % after 90; vanilla KD 81.15 / 79.95 %; teacher Swin-S 83.33 %).
# Blocks follow Swin's own stages (depths 2-2-6-2 in Swin-T, 2-2-18-2 in Swin-S, paper App. D)
# plus the classifier: {patch embed+stage1}{merge+stage2}{merge+stage3}{merge+stage4}{norm+head}.
# A boundary is a stage module: its output is the tuple (tokens (N, H*W, C), hw_shape), taken
# before the stage's patch merging, e.g. (N, 56*56, 96) ... (N, 7*7, 768) at 224x224.
# Training stages of 75 epochs: {1}{2}{3}{4}{5} -> {12}{34}{5} -> {1234}{5} -> {12345}.
# Batch 256 = 8 processes x 32 (tools/dist_train.sh CONFIG 8); AdamW, wd 0.2, peak LR 2e-2 =
# optimizer lr 2e-3 x peak_ratio 10 (paper App. B). 90-epoch run (Table 1/2):
#   --cfg-options train_cfg.max_epochs=90
# The student recipe (augmentations, Mixup/CutMix, label smoothing, grad clipping) is
# mmpretrain's swin-tiny_16xb64_in1k.
_base_ = [
    '../_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)

teacher = dict(
    type='ImageClassifier',
    backbone=dict(type='SwinTransformer', arch='small', img_size=224, drop_path_rate=0.3),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=768, init_cfg=None,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
              cal_acc=False))
student = dict(
    teacher,
    backbone=dict(type='SwinTransformer', arch='tiny', img_size=224, drop_path_rate=0.2),
    init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
              dict(type='Constant', layer='LayerNorm', val=1., bias=0.)],
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))

num_recompositions = 3  # StableKD-5/3: 4 training stages
model = dict(
    type='StableKD',
    student=student,
    teacher=teacher,
    # mmpretrain's conversion of the official Swin-S weights (83.21 % top-1).
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/swin-transformer/convert/'
                 'swin_small_patch4_window7_224-cc7a01c9.pth',
    boundaries=['backbone.stages.0', 'backbone.stages.1', 'backbone.stages.2',
                'backbone.stages.3'],
    num_recompositions=num_recompositions,
    probe_input_shape=(3, 224, 224),
    distill_loss=dict(type='KDLoss', tau=1.0, loss_weight=1.0),
    feature_loss=dict(type='FeatureMSELoss', loss_weight=1.0))

train_dataloader = dict(batch_size=32)  # x 8 processes = 256
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.2, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0,
        custom_keys={'.absolute_pos_embed': dict(decay_mult=0.0),
                     '.relative_position_bias_table': dict(decay_mult=0.0)}),
    clip_grad=dict(max_norm=5.0))
param_scheduler = dict(
    type='StageCyclicLR', num_stages=num_recompositions + 1, base_ratio=3e-3, peak_ratio=10.0,
    by_epoch=True, convert_to_iter_based=True)
custom_hooks = [dict(type='StableKDStageHook'), dict(type='StudentCheckpointHook')]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
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
# StableKD trains every student parameter in every stage and the teacher has
# requires_grad=False, so DDP needs no unused-parameter search (MMEngine's default).
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)
work_dir = './work_dirs/stablekd_swin-t_swin-s_imagenet'
