# StableKD-2/1 with 1x1 projectors: WRN16-10 -> WRN16-8 on CIFAR-100, 200 epochs (StableKD
# paper, Table 6: 79.57 % top-1; w/o KD 78.75, KD 78.73; teacher 79.69 %).
# Heterogeneous widths: the student's groups are 128/256/512 channels wide, the teacher's
# 160/320/640. k=2 blocks {backbone}{final BN-ReLU + pool + fc}: the one boundary is the last
# group's output ((N, 512, 8, 8) vs (N, 640, 8, 8)), bridged by two 1x1 convs (student->teacher
# for the MSE, teacher->student as the head's input), 0.66M extra parameters during training
# only (paper: 11.0M -> 11.6M; dropped at export). Stages: {1}{2} for 100 epochs, then {12}.
# Train the teacher first: configs/teachers/wrn16-10_cifar100.py.
_base_ = ['./resnet18_r34_cifar100.py']

teacher = dict(
    type='ImageClassifier',
    backbone=dict(type='WideResNet_CIFAR', depth=16, widen_factor=10),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=640,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
student = dict(teacher, backbone=dict(teacher['backbone'], widen_factor=8),
               head=dict(teacher['head'], in_channels=512))

num_recompositions = 1  # StableKD-2/1
model = dict(
    _delete_=True,
    type='StableKD',
    student=student,
    teacher=teacher,
    teacher_ckpt='work_dirs/teachers_wrn16-10_cifar100/epoch_200.pth',
    boundaries=['backbone.layer3'],
    num_recompositions=num_recompositions,
    projectors=True,
    distill_loss=dict(type='KDLoss', tau=1.0, loss_weight=1.0),
    feature_loss=dict(type='FeatureMSELoss', loss_weight=1.0))
param_scheduler = [  # the base's StageCyclicLR + StageCyclicMomentum with n+1 stages
    dict(type='StageCyclicLR', num_stages=num_recompositions + 1, base_ratio=3e-3,
         peak_ratio=10.0, by_epoch=True, convert_to_iter_based=True),
    dict(type='StageCyclicMomentum', num_stages=num_recompositions + 1, base_momentum=0.8,
         max_momentum=0.9, by_epoch=True, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=200)
# The projectors are used only while their boundary is active (stage 0); in the last stage
# they get no gradient, so DDP must look for unused parameters.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
work_dir = './work_dirs/stablekd_wrn16-8_wrn16-10_cifar100'
