# StableKD, CRD benchmark pair WRN-40-2 -> WRN-16-2 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_stablekd.py; train the teacher first:
# configs/teachers/wrn40-2_cifar100.py.
# Published top-1 (%) for this pair:
#   teacher 75.61, student (scratch) 73.26, KD 74.92 (CRD Table 1 / RepDistiller README);
#   DKD 76.23 (megvii-research/mdistiller README).
#   DIST: not in hunto/DIST_KD's README table. SSKD, StableKD: not published for this pair.
# Partition: boundaries after the stem (backbone.conv1) and after layer1-3, k = 5 blocks
# stem | layer1 | layer2 | layer3 | pool+fc and n = 2:
#   {1}{2}{3}{4}{5} -> {12}{34}{5} -> {1234}{5}   (StableKD-5/2, ending {backbone}{head}).
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_stablekd.py']

model = dict(student=_base_.crd_nets.wrn16_2, teacher=_base_.crd_nets.wrn40_2,
             teacher_ckpt='work_dirs/teachers_wrn40-2_cifar100/epoch_240.pth',
             boundaries=_base_.crd_wrn_boundaries)
work_dir = './work_dirs/stablekd_wrn16-2_wrn40-2_cifar100'
