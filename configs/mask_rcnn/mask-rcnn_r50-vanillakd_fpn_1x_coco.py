# Mask R-CNN R-50-FPN, 1x schedule, COCO: ResNet-50 backbone distilled from BEiTv2-L with
# VanillaKD on ImageNet (configs/kd/resnet50_beitv2-l_rsb-a1-600e_in1k.py; paper 81.68 % top-1).
# Everything but the backbone's init checkpoint is mmdet's own mask-rcnn_r50_fpn_1x_coco.py
# (which starts from torchvision's ResNet-50).
# Paper numbers (VanillaKD Table 11a, Mask R-CNN R-50 1x, not measured here, and for a
# different student: 83.1 % top-1, BEiTv2-B teacher, 4800 epochs): 41.8 box AP / 37.7 mask AP,
# vs 38.7 / 35.1 from a previous 80.4 % checkpoint.
#
# The backbone checkpoint is the distillation checkpoint converted with
#   python tools/convert_student.py \
#       work_dirs/kd_resnet50_beitv2-l_rsb-a1-600e_in1k/epoch_600.pth \
#       work_dirs/kd_resnet50_beitv2-l_rsb-a1-600e_in1k/backbone_r50.pth --backbone-only
# Its keys are mmdet ResNet's own (conv1.weight, layer1.0.conv1.weight, ...; no "backbone."
# prefix; the student's SyncBN has BN's keys), so init_cfg needs no `prefix`.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

backbone_checkpoint = 'work_dirs/kd_resnet50_beitv2-l_rsb-a1-600e_in1k/backbone_r50.pth'
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))

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
work_dir = './work_dirs/mask_rcnn_mask-rcnn_r50-vanillakd_fpn_1x_coco'
