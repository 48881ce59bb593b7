# DKD, CRD benchmark pair ResNet-32x4 -> ResNet-8x4 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_dkd.py (alpha 1, tau 4, warm-up 20 epochs, CE weight 1, 240
# epochs, batch 64, SGD LR 0.05); train the teacher first: configs/teachers/resnet32x4_cifar100.py.
# beta = 8.0: mdistiller configs/cifar100/dkd/res32x4_res8x4.yaml sets no DKD.BETA, so its default
# CFG.DKD.BETA 8.0 (mdistiller/engine/cfg.py) applies.
# Published top-1 (%) for this pair: DKD 76.32 (DKD, Zhao et al. CVPR 2022 / mdistiller README); KD
# 73.33, student 72.50, teacher 79.42 (CRD Table 1 / RepDistiller README).
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_dkd.py']

model = dict(student=_base_.crd_nets.resnet8x4, teacher=_base_.crd_nets.resnet32x4,
             teacher_ckpt='work_dirs/teachers_resnet32x4_cifar100/epoch_240.pth',
             distill_loss=dict(beta=8.0))
work_dir = './work_dirs/dkd_resnet8x4_r32x4_cifar100'
