# StableKD-3/1: blocks {stem+layer1+layer2}{layer3+layer4}{neck+head}, one recomposition.
_base_ = ['./resnet18_r34_cifar100.py']

num_recompositions = 1
model = dict(boundaries=['backbone.layer2', 'backbone.layer4'],
             num_recompositions=num_recompositions)
param_scheduler = dict(num_stages=num_recompositions + 1)
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_3-1'
