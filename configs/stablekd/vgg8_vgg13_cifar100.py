# StableKD, CRD benchmark pair VGG-13 -> VGG-8 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_stablekd.py; train the teacher first:
# configs/teachers/vgg13_cifar100.py.
# Published top-1 (%) for this pair:
#   teacher 74.64, student (scratch) 70.36, KD 72.98 (CRD Table 1 / RepDistiller README);
#   DKD 74.68 (DKD, Zhao et al. CVPR 2022 / megvii-research/mdistiller README).
#   DIST: not in hunto/DIST_KD's README table. SSKD, StableKD: not published for this pair.
# Partition: CifarVGG's default boundaries are its 4 stages (CRD blocks 0 | 1 | 2 | 3+4, see
# mmstablekd/models/backbones/cifar_vgg.py), so k = 5 blocks (layer1 | layer2 | layer3 |
# layer4 | pool+fc) and n = 2, the same 5/2 plan as the ResNet/WRN pairs:
#   {1}{2}{3}{4}{5} -> {12}{34}{5} -> {1234}{5}   (StableKD-5/2, the paper's ResNet-18 recipe).
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_stablekd.py']

model = dict(student=_base_.crd_nets.vgg8, teacher=_base_.crd_nets.vgg13,
             teacher_ckpt='work_dirs/teachers_vgg13_cifar100/epoch_240.pth')
work_dir = './work_dirs/stablekd_vgg8_vgg13_cifar100'
