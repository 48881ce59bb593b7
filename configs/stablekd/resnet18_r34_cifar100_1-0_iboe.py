# Vanilla KD (StableKD-1/0: CE + KL, OneCycleLR as in Fig. 3) with the IBOE diagnostics: the KD
# side of the comparison with resnet18_r34_cifar100_iboe.py (same hook, same keys).
_base_ = ['./resnet18_r34_cifar100_1-0.py']

custom_hooks = _base_.custom_hooks + [
    dict(type='IBOEHook', module_paths=['student.head', 'student.backbone.layer4'],
         metric_key='accuracy/top1', window=5,
         every_iter=True),  # every iteration: the cumulative curve of paper Fig. 1c
]
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_1-0_iboe'
