# Vanilla KD, CRD benchmark pair VGG-13 -> VGG-8 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_kd.py; train the teacher first:
# configs/teachers/vgg13_cifar100.py.
# Published top-1 (%) for this pair:
#   teacher 74.64, student (scratch) 70.36, KD 72.98 (CRD Table 1 / RepDistiller README);
#   DKD 74.68 (DKD, Zhao et al. CVPR 2022 / megvii-research/mdistiller README).
#   DIST: not in hunto/DIST_KD's README table. SSKD, StableKD: not published for this pair.
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_kd.py']

model = dict(student=_base_.crd_nets.vgg8, teacher=_base_.crd_nets.vgg13,
             teacher_ckpt='work_dirs/teachers_vgg13_cifar100/epoch_240.pth')
work_dir = './work_dirs/kd_vgg8_vgg13_cifar100'
