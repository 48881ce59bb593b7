# mask-rcnn_r18-stablekd_fpn_1x_coco.py on the tiny COCO-format shapes data set, for trying the
# detection-transfer path without COCO (CPU is enough). Write the data first:
#   python tools/make_tiny_coco.py data/tiny_coco
# Same model and mmdet CocoDataset / CocoMetric (bbox + segm) as on COCO; only the data
# (3 classes, 128x128 images with at most 3 objects, hence fewer proposals and sampled RoIs),
# the batch size, the length of the schedule, the learning rate and gradient clipping change.
# KD-baseline backbone: --cfg-options model.backbone.init_cfg.checkpoint=PATH; from scratch:
# --cfg-options model.backbone.init_cfg=None model.backbone.frozen_stages=-1
#               model.backbone.norm_eval=False
_base_ = './mask-rcnn_r18-stablekd_fpn_1x_coco.py'

data_root = 'data/tiny_coco/'
# what the missing-data message of LocalCocoDataset says (instead of COCO's download page)
get_data = f'python tools/make_tiny_coco.py {data_root} writes it'
metainfo = dict(classes=('rectangle', 'ellipse', 'triangle'))
image_scale = (128, 128)

model = dict(
    roi_head=dict(bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=100),
                   rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, get_data=get_data,
                 ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, get_data=get_data,
                 ann_file='annotations/instances_val.json', data_prefix=dict(img='val/'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

# 16 training images, batch 4: 4 iterations per epoch.
train_cfg = dict(max_epochs=12, val_interval=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=8),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
# Batch 4 instead of 16: a lower LR, and gradient clipping (as in many mmdet configs) so that a
# short, rough distillation run cannot blow the mask loss up.
optim_wrapper = dict(optimizer=dict(lr=0.01), clip_grad=dict(max_norm=35, norm_type=2))
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=12),
                     visualization=dict(draw=False))
log_processor = dict(window_size=4)
work_dir = './work_dirs/mask_rcnn_mask-rcnn_r18-stablekd_fpn_tiny-coco'
