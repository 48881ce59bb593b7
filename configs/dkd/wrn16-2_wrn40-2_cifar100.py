# DKD, CRD benchmark pair WRN-40-2 -> WRN-16-2 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_dkd.py (alpha 1, tau 4, warm-up 20 epochs, CE weight 1, 240
# epochs, batch 64, SGD LR 0.05); train the teacher first: configs/teachers/wrn40-2_cifar100.py.
# beta = 6.0: mdistiller configs/cifar100/dkd/wrn40_2_wrn_16_2.yaml (DKD.BETA 6.0).
# Published top-1 (%) for this pair: DKD 76.23 (mdistiller README); KD 74.92, student 73.26,
# teacher 75.61 (CRD Table 1 / RepDistiller README).
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_dkd.py']

model = dict(student=_base_.crd_nets.wrn16_2, teacher=_base_.crd_nets.wrn40_2,
             teacher_ckpt='work_dirs/teachers_wrn40-2_cifar100/epoch_240.pth',
             distill_loss=dict(beta=6.0))
work_dir = './work_dirs/dkd_wrn16-2_wrn40-2_cifar100'
