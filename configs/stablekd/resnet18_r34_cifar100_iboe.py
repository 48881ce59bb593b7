# StableKD-5/2 (ResNet-34 -> ResNet-18, CIFAR-100, 60 epochs) with the IBOE diagnostics:
# per-iteration parameter step distance of the classifier and of the last stage, and the
# epoch-to-epoch fluctuation of the validation accuracy (paper Fig. 1 / Sec. 3). Plot it next to
# resnet18_r34_cifar100_1-0_iboe.py (vanilla KD) from the two work dirs' vis_data/scalars.json.
_base_ = ['./resnet18_r34_cifar100.py']

custom_hooks = _base_.custom_hooks + [
    dict(type='IBOEHook', module_paths=['student.head', 'student.backbone.layer4'],
         metric_key='accuracy/top1', window=5,
         every_iter=True),  # every iteration: the cumulative curve of paper Fig. 1c
]
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_iboe'
