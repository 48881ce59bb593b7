# Mask R-CNN R-18-FPN, 1x schedule, COCO: ResNet-18 backbone distilled from ResNet-34 with
# StableKD-5/3 on ImageNet (configs/stablekd/resnet18_r34_imagenet.py).
# Everything but the backbone is mmdet's own mask-rcnn_r50_fpn_1x_coco.py.
#
# The backbone checkpoint is the distillation checkpoint converted with
#   python tools/convert_student.py work_dirs/stablekd_resnet18_r34_imagenet/epoch_90.pth \
#       work_dirs/stablekd_resnet18_r34_imagenet/backbone_r18.pth --backbone-only
# Its keys are mmdet ResNet's own (conv1.weight, layer1.0.conv1.weight, ...; no "backbone."
# prefix), so init_cfg needs no `prefix`. Compare with mask-rcnn_r18-kd_fpn_1x_coco.py and
# mask-rcnn_r18-scratch_fpn_1x_coco.py.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

backbone_checkpoint = 'work_dirs/stablekd_resnet18_r34_imagenet/backbone_r18.pth'
model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
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
work_dir = './work_dirs/mask_rcnn_mask-rcnn_r18-stablekd_fpn_1x_coco'
