# SSKD, stage-by-stage KD (Gao et al.; recipe of configs/sskd/resnet18_r34_cifar100.py) on the
# CRD benchmark pairs. Default boundaries = the backbone's stages: 3 for the CIFAR ResNets and
# WRNs, so 4 phases {stem+layer1}, {layer2}, {layer3} (each: feature loss to the teacher's
# stage output, earlier stages frozen), then the head alone with CE. (SSKD's own
# ResNet-56 -> ResNet-20 runs use "4 stages" at the down-sampling layers; our partition is the
# three stages.) 240 epochs in all (the CRD budget), 60 per phase; per phase SGD momentum 0.9,
# LR 0.01, x0.1 at 30/60/90 % of the phase (SSKD paper), reset to 0.01 at every phase start
# by a x1000 step; wd 5e-4 and batch 64 from the CRD protocol (not stated by SSKD).
# stage_loss as in configs/sskd/resnet18_r34_cifar100.py (helper work on branch h-sskd-dist
# may change the SSKD stage loss there; keep the two in step).
# A pair config adds model.student, model.teacher, model.teacher_ckpt and work_dir; one with
# a different number of stages (VGG) redefines stage_epochs, param_scheduler and the hooks.
_base_ = ['../datasets/cifar100_bs64.py', '../schedules/crd_240e.py']

stage_epochs = [60, 60, 60, 60]  # stages 1-3, then the head phase
model = dict(type='SSKD', stage_loss=dict(type='FeatureMSELoss', loss_weight=1.0))
_starts = [sum(stage_epochs[:i]) for i in range(len(stage_epochs))]
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, gamma=0.1,
         milestones=[s + round(f * e) for s, e in zip(_starts, stage_epochs)
                     for f in (0.3, 0.6, 0.9)]),
    dict(type='MultiStepLR', by_epoch=True, gamma=1000.0, milestones=_starts[1:]),
]
custom_hooks = [dict(type='SSKDStageHook', stage_epochs=stage_epochs),
                dict(type='StudentCheckpointHook')]
# The head is untrained until the head phase: validate from its first epoch on.
train_cfg = dict(val_begin=sum(stage_epochs[:-1]) + 1)
# Only the current stage gets gradients: DDP must tolerate unused parameters.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
