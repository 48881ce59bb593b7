# SSKD (stage-by-stage), CRD benchmark pair VGG-13 -> VGG-8 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_sskd.py; train the teacher first:
# configs/teachers/vgg13_cifar100.py.
# Published top-1 (%) for this pair:
#   teacher 74.64, student (scratch) 70.36, KD 72.98 (CRD Table 1 / RepDistiller README);
#   DKD 74.68 (DKD, Zhao et al. CVPR 2022 / megvii-research/mdistiller README).
#   DIST: not in hunto/DIST_KD's README table. SSKD, StableKD: not published for this pair.
# Phases: CifarVGG's 4 stages (CRD blocks 0 | 1 | 2 | 3+4, ending at its down-sampling layers
# as SSKD recommends), then the head: 5 phases of 48 epochs (240 in all).
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_sskd.py']

model = dict(student=_base_.crd_nets.vgg8, teacher=_base_.crd_nets.vgg13,
             teacher_ckpt='work_dirs/teachers_vgg13_cifar100/epoch_240.pth')

stage_epochs = [48, 48, 48, 48, 48]  # stages 1-4, then the head phase
_starts = [sum(stage_epochs[:i]) for i in range(len(stage_epochs))]
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, gamma=0.1,
         milestones=[s + round(f * e) for s, e in zip(_starts, stage_epochs)
                     for f in (0.3, 0.6, 0.9)]),
    dict(type='MultiStepLR', by_epoch=True, gamma=1000.0, milestones=_starts[1:]),
]
custom_hooks = [dict(type='SSKDStageHook', stage_epochs=stage_epochs),
                dict(type='StudentCheckpointHook')]
train_cfg = dict(val_begin=sum(stage_epochs[:-1]) + 1)
work_dir = './work_dirs/sskd_vgg8_vgg13_cifar100'
