# StableKD-1/0 = vanilla KD (CE + KL, no feature loss) inside the StableKD machinery.
# Reproduces the StableKD-1/0 curve of the StableKD paper's Fig. 3 (60 epochs; the text gives
# no final number): "a learning rate of 0.05 and a OneCycleLR scheduler" for all three runs
# (1/0, 3/0, 5/0), i.e. the OneCycleLR recipe of resnet18_r34_cifar100_5-0.py (max LR 0.5,
# momentum cycled 0.95 -> 0.85 -> 0.95 as PyTorch's OneCycleLR).
_base_ = ['./resnet18_r34_cifar100_5-0.py']

model = dict(boundaries=[])
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_1-0'
