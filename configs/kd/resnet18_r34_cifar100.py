# Vanilla KD (Hinton): ResNet-34 -> ResNet-18 (mmpretrain ResNet_CIFAR) on CIFAR-100, 60 epochs:
# the baseline of the StableKD paper: Table 5 / Table 4 row KD, 76.19 % top-1 at 60 epochs
# (72.49 / 75.00 at 20 / 40 epochs; StableKD-5/2 79.39 %).
# Loss (1-alpha)*CE + alpha*tau^2*KL with tau = 1 (StableKD paper) and alpha = 0.5 (the
# StableKD paper does not state alpha; 0.5 is Hao et al.'s VanillaKD default).
# Same student, teacher, data and epochs as configs/stablekd/resnet18_r34_cifar100.py; only the
# model type, the LR schedule and the hooks change. Optimiser as in DnD Table 5 ("other
# approaches"): SGD, wd 5e-4, batch 128, OneCycle with peak LR 0.1 (PyTorch defaults: start
# 0.1/25, 30 % warm-up, cosine, momentum cycled 0.95 -> 0.85 -> 0.95: OneCycleLR for the LR,
# OneCycleMomentum for the momentum, which overrides the optimizer's 0.9).
_base_ = ['../stablekd/resnet18_r34_cifar100.py']

model = dict(
    _delete_=True,
    type='VanillaKD',
    student=_base_.student,
    teacher=_base_.teacher,
    teacher_ckpt='work_dirs/teachers_resnet34_cifar100/epoch_200.pth',
    alpha=0.5,
    tau=1.0)

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='OneCycleLR', eta_max=0.1, by_epoch=True, convert_to_iter_based=True),
    dict(type='OneCycleMomentum', base_momentum=0.85, max_momentum=0.95, pct_start=0.3,
         anneal_strategy='cos', by_epoch=True, convert_to_iter_based=True)]
custom_hooks = [dict(type='StudentCheckpointHook')]
work_dir = './work_dirs/kd_resnet18_r34_cifar100'
