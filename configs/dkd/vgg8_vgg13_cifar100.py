# DKD, CRD benchmark pair VGG-13 -> VGG-8 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_dkd.py (alpha 1, tau 4, warm-up 20 epochs, CE weight 1, 240
# epochs, batch 64, SGD LR 0.05); train the teacher first: configs/teachers/vgg13_cifar100.py.
# beta = 6.0: mdistiller configs/cifar100/dkd/vgg13_vgg8.yaml (DKD.BETA 6.0).
# Published top-1 (%) for this pair: DKD 74.68 (DKD, Zhao et al. CVPR 2022 / mdistiller README); KD
# 72.98, student 70.36, teacher 74.64 (CRD Table 1 / RepDistiller README).
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_dkd.py']

model = dict(student=_base_.crd_nets.vgg8, teacher=_base_.crd_nets.vgg13,
             teacher_ckpt='work_dirs/teachers_vgg13_cifar100/epoch_240.pth',
             distill_loss=dict(beta=6.0))
work_dir = './work_dirs/dkd_vgg8_vgg13_cifar100'
