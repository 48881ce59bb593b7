# StableKD-3/1: blocks {stem+layer1+layer2}{layer3+layer4}{neck+head}, one recomposition.
_base_ = ['./resnet18_r34_cifar100.py']

num_recompositions = 1
model = dict(boundaries=['backbone.layer2', 'backbone.layer4'],
             num_recompositions=num_recompositions)
param_scheduler = [  # the base's StageCyclicLR + StageCyclicMomentum with n+1 stages
    dict(type='StageCyclicLR', num_stages=num_recompositions + 1, base_ratio=3e-3,
         peak_ratio=10.0, by_epoch=True, convert_to_iter_based=True),
    dict(type='StageCyclicMomentum', num_stages=num_recompositions + 1, base_momentum=0.8,
         max_momentum=0.9, by_epoch=True, convert_to_iter_based=True),
]
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_3-1'
