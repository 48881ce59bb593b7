# StableKD-5/3: ViT-S/16 -> ViT-S/8 on ImageNet-1k, 90 epochs (StableKD paper, Table 1:
# 77.72 % top-1; w/o KD 74.00, KD 75.05, DeiT 75.45; teacher 74.03 %).
# In the paper "/16" and "/8" are *depths*: "ViT-S/8 denotes a network with depth 8 derived
# from ViT-S/16". Both are ViT-S wide (384 dims, 6 heads, MLP 1536, patch 16, 224x224); the
# teacher has 16 encoder layers, the student 8. The layers are "equally distributed to the
# first four blocks" (App. D): 4 teacher / 2 student layers per block, the 5th block is the
# final LayerNorm + classifier. Boundaries are encoder layers, outputs (N, 1+196, 384).
# Training stages (22, 22, 22, 24 epochs): {1}{2}{3}{4}{5} -> {12}{34}{5} -> {1234}{5} -> {12345}.
# Batch 256 = 8 processes x 32; AdamW, wd 0.2, peak LR 2e-2 = lr 2e-3 x peak_ratio 10.
# The student recipe (augmentations, Mixup/CutMix, label smoothing) is mmpretrain's DeiT-S one.
# Train the teacher first: configs/teachers/vit-s16_imagenet.py.
_base_ = [
    '../_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)

vit_s = dict(embed_dims=384, num_heads=6, feedforward_channels=384 * 4)
teacher = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', arch=dict(vit_s, num_layers=16), img_size=224,
                  patch_size=16),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=1000, in_channels=384,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))
student = dict(
    teacher,
    backbone=dict(teacher['backbone'], arch=dict(vit_s, num_layers=8)),
    init_cfg=[dict(type='TruncNormal', layer='Linear', std=.02),
              dict(type='Constant', layer='LayerNorm', val=1., bias=0.)],
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))

num_recompositions = 3  # StableKD-5/3
model = dict(
    type='StableKD',
    student=student,
    teacher=teacher,
    teacher_ckpt='work_dirs/teachers_vit-s16_imagenet/epoch_300.pth',
    boundaries=['backbone.layers.1', 'backbone.layers.3', 'backbone.layers.5',
                'backbone.layers.7'],
    teacher_boundaries=['backbone.layers.3', 'backbone.layers.7', 'backbone.layers.11',
                        'backbone.layers.15'],
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
        norm_decay_mult=0.0, bias_decay_mult=0.0,
        custom_keys={'.cls_token': dict(decay_mult=0.0), '.pos_embed': dict(decay_mult=0.0)}),
    clip_grad=dict(max_norm=5.0))
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
# Every student parameter is trained in every stage: no unused-parameter search under DDP.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)
work_dir = './work_dirs/stablekd_vit-s8_vit-s16_imagenet'
