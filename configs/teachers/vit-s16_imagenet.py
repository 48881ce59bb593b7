# ViT-S/16 teacher of configs/stablekd/vit-s8_vit-s16_imagenet.py: ViT-S width (384 dims,
# 6 heads, patch 16) with 16 encoder layers ("/16" is the depth, as in the StableKD paper,
# whose teacher reaches 74.03 %). mmpretrain's DeiT-S recipe, 300 epochs, batch 4 x 256:
#   tools/dist_train.sh configs/teachers/vit-s16_imagenet.py 4
# writes work_dirs/teachers_vit-s16_imagenet/epoch_300.pth.
_base_ = ['mmpretrain::deit/deit-small_4xb256_in1k.py']
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)  # the hooks below

model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=384, num_layers=16, num_heads=6,
                                     feedforward_channels=384 * 4)))
# Checkpoint every epoch and keep the last 3 (a crash loses at most one epoch); stop at a
# NaN/inf loss, one training run per work dir, bit-identical --resume (README: "What
# happens when things go wrong").
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
                     nonfinite_guard=dict(type='NonFiniteGuardHook'),
                     work_dir_lock=dict(type='WorkDirLockHook'),
                     resume_state=dict(type='ResumeStateHook'))
# Data: ImageNet-1k under data/imagenet, read by LocalImageNet (mmpretrain's ImageNet; missing
# files stop at data set build with one message naming the path, layout and download page;
# mmstablekd/datasets/local_data.py).
train_dataloader = dict(dataset=dict(type='LocalImageNet'))
val_dataloader = dict(dataset=dict(type='LocalImageNet'))
test_dataloader = val_dataloader
work_dir = './work_dirs/teachers_vit-s16_imagenet'
