# SSKD (stage-by-stage), CRD benchmark pair ResNet-56 -> ResNet-20 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_sskd.py; train the teacher first:
# configs/teachers/resnet56_cifar100.py.
# Published top-1 (%) for this pair:
#   teacher 72.34, student (scratch) 69.06, KD 70.66 (CRD Table 1 / RepDistiller README);
#   DIST 71.75 +- 0.30 (hunto/DIST_KD README, CIFAR-100 table);
#   DKD 71.97 (DKD, Zhao et al. CVPR 2022 / megvii-research/mdistiller README).
#   SSKD (its own teacher 71.21, student 67.96; not the CRD recipe): SSKD 70.77, KD 69.32
#   (SSKD paper Tables 3 and 5). StableKD: not published for this pair.
# Phases: stem+layer1, layer2, layer3 (the default boundaries), then the head: 4 x 60 epochs.
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_sskd.py']

model = dict(student=_base_.crd_nets.resnet20, teacher=_base_.crd_nets.resnet56,
             teacher_ckpt='work_dirs/teachers_resnet56_cifar100/epoch_240.pth')
work_dir = './work_dirs/sskd_resnet20_r56_cifar100'
