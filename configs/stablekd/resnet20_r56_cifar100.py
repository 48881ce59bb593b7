# StableKD, CRD benchmark pair ResNet-56 -> ResNet-20 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_stablekd.py; train the teacher first:
# configs/teachers/resnet56_cifar100.py.
# Published top-1 (%) for this pair:
#   teacher 72.34, student (scratch) 69.06, KD 70.66 (CRD Table 1 / RepDistiller README);
#   DIST 71.75 +- 0.30 (hunto/DIST_KD README, CIFAR-100 table);
#   DKD 71.97 (DKD, Zhao et al. CVPR 2022 / megvii-research/mdistiller README).
#   SSKD (its own teacher 71.21, student 67.96; not the CRD recipe): SSKD 70.77, KD 69.32
#   (SSKD paper Tables 3 and 5). StableKD: not published for this pair.
# Partition: boundaries after the stem (backbone.relu) and after layer1-3, k = 5 blocks
# stem | layer1 | layer2 | layer3 | pool+fc and n = 2:
#   {1}{2}{3}{4}{5} -> {12}{34}{5} -> {1234}{5}   (StableKD-5/2, ending {backbone}{head}).
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_stablekd.py']

model = dict(student=_base_.crd_nets.resnet20, teacher=_base_.crd_nets.resnet56,
             teacher_ckpt='work_dirs/teachers_resnet56_cifar100/epoch_240.pth',
             boundaries=_base_.crd_resnet_boundaries)
work_dir = './work_dirs/stablekd_resnet20_r56_cifar100'
