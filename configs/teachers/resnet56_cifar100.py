# ResNet-56 (0.86M parameters) on CIFAR-100 with the CRD recipe: a teacher of the CRD benchmark
# pairs (configs/{kd,dist,sskd,stablekd}/*_cifar100.py). Published top-1: 72.34 % (CRD,
# Tian et al. ICLR 2020, Table 1 / HobbitLong/RepDistiller README).
#   python tools/train.py configs/teachers/resnet56_cifar100.py
# writes work_dirs/teachers_resnet56_cifar100/epoch_240.pth, the pairs' default teacher_ckpt.
_base_ = [
    '../_base_/models/crd_cifar100_nets.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/crd_240e.py',
]

model = _base_.crd_nets.resnet56
work_dir = './work_dirs/teachers_resnet56_cifar100'
