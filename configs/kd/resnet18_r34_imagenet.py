# Vanilla KD (Hinton et al.): ResNet-34 -> ResNet-18 (mmpretrain's ImageNet `ResNet`) on
# ImageNet-1k, 90 epochs: the baseline of configs/stablekd/resnet18_r34_imagenet.py, with the
# same student, teacher and data; its backbone goes into
# configs/mask_rcnn/mask-rcnn_r18-kd_fpn_1x_coco.py.
# Baseline hyper-parameters of the StableKD paper (App. B, ImageNet): AdamW, peak LR 2e-3,
# batch 512 = 8 processes x 64 (tools/dist_train.sh CONFIG 8; on fewer GPUs add
# --auto-scale-lr), weight decay 4e-2, cosine annealing after a linear warm-up (5 epochs).
# Teacher checkpoint: see configs/stablekd/resnet18_r34_imagenet.py (no download at run time).
_base_ = ['../stablekd/resnet18_r34_imagenet.py']  # same student, teacher, data, runtime

model = dict(
    _delete_=True,
    type='VanillaKD',
    student=_base_.student,
    teacher=_base_.teacher,
    teacher_ckpt='work_dirs/pretrained/resnet34_8xb32_in1k_20210831-f257d4e6.pth')

train_dataloader = dict(batch_size=64)  # x 8 processes = 512
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=4e-2))
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=warmup_epochs, end=90,
         convert_to_iter_based=True),
]
custom_hooks = [dict(type='StudentCheckpointHook')]
auto_scale_lr = dict(base_batch_size=512)
work_dir = './work_dirs/kd_resnet18_r34_imagenet'
