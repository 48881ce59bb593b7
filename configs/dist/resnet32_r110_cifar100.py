# DIST, CRD benchmark pair ResNet-110 -> ResNet-32 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_dist.py; train the teacher first:
# configs/teachers/resnet110_cifar100.py.
# Published top-1 (%) for this pair:
#   teacher 74.31, student (scratch) 71.14, KD 73.08 (CRD Table 1 / RepDistiller README);
#   DKD 74.11 (DKD, Zhao et al. CVPR 2022 / megvii-research/mdistiller README).
#   DIST: not in hunto/DIST_KD's README table. SSKD, StableKD: not published for this pair.
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_dist.py']

model = dict(student=_base_.crd_nets.resnet32, teacher=_base_.crd_nets.resnet110,
             teacher_ckpt='work_dirs/teachers_resnet110_cifar100/epoch_240.pth')
work_dir = './work_dirs/dist_resnet32_r110_cifar100'
