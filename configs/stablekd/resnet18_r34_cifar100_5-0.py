# StableKD-5/0: decomposition only, no recomposition (paper Table 5 ablation).
_base_ = ['./resnet18_r34_cifar100.py']

num_recompositions = 0
model = dict(num_recompositions=num_recompositions)
param_scheduler = dict(num_stages=num_recompositions + 1)
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_5-0'
