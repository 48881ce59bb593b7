# The deployed student of resnet18-w32_r34_cifar100.py: the half-width ResNet-18 plus the 1x1
# projector pair that stays on boundary 4 (backbone.layer4, 256 -> 512 -> 256 channels),
# exactly what StudentCheckpointHook exports (student_epoch_60.py). For testing only:
#   python tools/test.py configs/stablekd/resnet18-w32_r34_cifar100_deploy.py \
#       work_dirs/stablekd_resnet18-w32_r34_cifar100/student_epoch_60.pth
_base_ = [
    '../_base_/datasets/cifar100_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)

model = dict(
    type='BoundaryProjectedClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=4, out_indices=(3, ),
                  style='pytorch', stem_channels=32, base_channels=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=256,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    boundary_projectors=[dict(path='backbone.layer4', student_channels=256,
                              teacher_channels=512, dim=4)])
test_cfg = dict()
work_dir = './work_dirs/stablekd_resnet18-w32_r34_cifar100_deploy'
