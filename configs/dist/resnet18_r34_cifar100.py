# DIST (Huang et al., 2022): ResNet-34 -> ResNet-18 (mmpretrain ResNet_CIFAR) on CIFAR-100,
# 60 epochs. Loss alpha*CE + tau^2*(beta*inter + gamma*intra) with the DIST defaults
# alpha = beta = gamma = tau = 1. Same student, teacher, data, epochs and optimiser as the
# vanilla-KD baseline configs/kd/resnet18_r34_cifar100.py (OneCycle, peak LR 0.1).
_base_ = ['../kd/resnet18_r34_cifar100.py']

model = dict(_delete_=True,
             type='DIST',
             student=_base_.student,
             teacher=_base_.teacher,
             teacher_ckpt='work_dirs/teachers_resnet34_cifar100/epoch_200.pth',
             alpha=1.0,
             beta=1.0,
             gamma=1.0,
             tau=1.0)
work_dir = './work_dirs/dist_resnet18_r34_cifar100'
