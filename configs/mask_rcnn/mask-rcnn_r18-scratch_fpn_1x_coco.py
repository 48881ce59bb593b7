# Mask R-CNN R-18-FPN, 1x schedule, COCO, ResNet-18 trained from scratch: the no-pre-training
# reference for mask-rcnn_r18-{stablekd,kd}_fpn_1x_coco.py (no network access is needed:
# torchvision's ImageNet weights would have to be downloaded, so they are not used).
#
# From scratch means init_cfg=None (mmdet ResNet's own Kaiming/constant init). A random stem
# cannot stay frozen and random BN statistics cannot stay fixed, so unlike the pre-trained
# configs every stage trains (frozen_stages=-1) and BN updates its statistics (norm_eval=False).
# With 2 images per GPU that BN is noisy; 1x is far too short for scratch training (He et al.,
# "Rethinking ImageNet Pre-training"): read the result as a lower bound.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]))
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
default_hooks = dict(nonfinite_guard=dict(type='mmpretrain.NonFiniteGuardHook'),
                     work_dir_lock=dict(type='mmpretrain.WorkDirLockHook'),
                     resume_state=dict(type='mmpretrain.ResumeStateHook'))
work_dir = './work_dirs/mask_rcnn_mask-rcnn_r18-scratch_fpn_1x_coco'
