# StableKD, CRD benchmark pair ResNet-110 -> ResNet-32 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_stablekd.py; train the teacher first:
# configs/teachers/resnet110_cifar100.py.
# Published top-1 (%) for this pair:
#   teacher 74.31, student (scratch) 71.14, KD 73.08 (CRD Table 1 / RepDistiller README);
#   DKD 74.11 (DKD, Zhao et al. CVPR 2022 / megvii-research/mdistiller README).
#   DIST: not in hunto/DIST_KD's README table. SSKD, StableKD: not published for this pair.
# Partition: boundaries after the stem (backbone.relu) and after layer1-3, k = 5 blocks
# stem | layer1 | layer2 | layer3 | pool+fc and n = 2:
#   {1}{2}{3}{4}{5} -> {12}{34}{5} -> {1234}{5}   (StableKD-5/2, ending {backbone}{head}).
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_stablekd.py']

model = dict(student=_base_.crd_nets.resnet32, teacher=_base_.crd_nets.resnet110,
             teacher_ckpt='work_dirs/teachers_resnet110_cifar100/epoch_240.pth',
             boundaries=_base_.crd_resnet_boundaries)
work_dir = './work_dirs/stablekd_resnet32_r110_cifar100'
