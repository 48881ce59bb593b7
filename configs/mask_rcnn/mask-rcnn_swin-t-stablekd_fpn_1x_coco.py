# Mask R-CNN Swin-T-FPN, 1x schedule, COCO: Swin-T backbone distilled from Swin-S with
# StableKD-5/3 on ImageNet (configs/stablekd/swin-t_swin-s_imagenet.py; paper 82.61 % top-1).
# Everything but the backbone's initial weights is mmdet's own
# swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py (which starts from the official Swin-T weights).
#
# The backbone checkpoint is the distillation checkpoint converted with
#   python tools/convert_student.py work_dirs/stablekd_swin-t_swin-s_imagenet/epoch_300.pth \
#       work_dirs/stablekd_swin-t_swin-s_imagenet/backbone_swin-t.pth --backbone-only
# which writes mmpretrain's Swin in mmdet's SwinTransformer layout (mmstablekd/utils/
# swin_convert.py): the same tensors, keys "backbone.*" (mmdet's Swin init_weights keeps only
# those), and LayerNorm-initial norm0-norm2 (the detector's extra per-level norms, which no
# classifier has). The keys are already mmdet's, hence convert_weights=False (True converts
# the official Swin repository's names).
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'

backbone_checkpoint = 'work_dirs/stablekd_swin-t_swin-s_imagenet/backbone_swin-t.pth'
model = dict(
    backbone=dict(
        convert_weights=False,
        init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))

# Run management, not recipe: checkpoint every epoch, keep the last 3.
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
# Data: COCO 2017 under data/coco/, read by LocalCocoDataset (mmdet's CocoDataset; missing
# files stop at data set build with one message naming the path, layout and download page;
# mmstablekd/datasets/local_coco.py, registered in mmdet's registry by the import below).
train_dataloader = dict(dataset=dict(type='LocalCocoDataset'))
val_dataloader = dict(dataset=dict(type='LocalCocoDataset'))
test_dataloader = val_dataloader
# mmstablekd's run guards (as in every config of this repo): stop at the first non-finite loss,
# one training run per work dir, bit-exact --resume. They are registered in mmpretrain's
# registry (hence the `mmpretrain.` prefix in this mmdet-scoped config); custom_imports
# registers them for mmdet's own tools/train.py too.
custom_imports = dict(imports=['mmstablekd', 'mmstablekd.datasets.local_coco'],
                      allow_failed_imports=False)
# Run management, not recipe: checkpoint every epoch, keep the last 3;
# and the run guards above.
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
                     nonfinite_guard=dict(type='mmpretrain.NonFiniteGuardHook'),
                     work_dir_lock=dict(type='mmpretrain.WorkDirLockHook'),
                     resume_state=dict(type='mmpretrain.ResumeStateHook'))
work_dir = './work_dirs/mask_rcnn_mask-rcnn_swin-t-stablekd_fpn_1x_coco'
