# DKD, CRD benchmark pair ResNet-56 -> ResNet-20 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_dkd.py (alpha 1, tau 4, warm-up 20 epochs, CE weight 1, 240
# epochs, batch 64, SGD LR 0.05); train the teacher first: configs/teachers/resnet56_cifar100.py.
# beta = 2.0: mdistiller configs/cifar100/dkd/res56_res20.yaml (DKD.BETA 2.0).
# Published top-1 (%) for this pair: DKD 71.97 (DKD, Zhao et al. CVPR 2022 / mdistiller README); KD
# 70.66, student 69.06, teacher 72.34 (CRD Table 1 / RepDistiller README).
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_dkd.py']

model = dict(student=_base_.crd_nets.resnet20, teacher=_base_.crd_nets.resnet56,
             teacher_ckpt='work_dirs/teachers_resnet56_cifar100/epoch_240.pth',
             distill_loss=dict(beta=2.0))
work_dir = './work_dirs/dkd_resnet20_r56_cifar100'
