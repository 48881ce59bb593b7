# StableKD-1/0 = vanilla KD (CE + KL, no feature loss) inside the StableKD machinery (paper Fig. 3).
_base_ = ['./resnet18_r34_cifar100.py']

num_recompositions = 0
model = dict(boundaries=[], num_recompositions=num_recompositions)
param_scheduler = dict(num_stages=num_recompositions + 1)
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_1-0'
