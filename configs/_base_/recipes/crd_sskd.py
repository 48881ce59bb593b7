# SSKD, stage-by-stage KD (Gao et al.; recipe of configs/sskd/resnet18_r34_cifar100.py) on the
# CRD benchmark pairs. Default boundaries = the backbone's stages: 3 for the CIFAR ResNets and
# WRNs, so 4 phases {stem+layer1}, {layer2}, {layer3} (each: psi = ||a - b||^2 to the teacher's
# stage output, FeatureL2Loss with reduction='channel_sum' (sum over channels, mean over
# positions; the paper writes the sum over all C*H*W elements, see
# configs/sskd/resnet18_r34_cifar100.py for why and benchmarks/sskd_digits.md for the
# measurement), earlier stages frozen), then the head alone with CE. (SSKD's own
# ResNet-56 -> ResNet-20 runs use "4 stages" at the down-sampling layers; our partition is the
# three stages.) 240 epochs in all (the CRD budget), split evenly over the phases by
# SSKDStageHook and StageStepLR (60 per phase here); per phase SGD momentum 0.9, LR 0.01 for
# every backbone stage, x0.1 at 30/60/90 % of the phase, restarted at every phase (SSKD paper
# Sec. 3.3); wd 5e-4 and batch 64 from the CRD protocol (not stated by SSKD). Head phase at
# LR 0.1 (x10; the paper gives no head schedule, see the R-18 config).
# A pair config adds model.student, model.teacher, model.teacher_ckpt and work_dir; one with
# a different number of stages (VGG) redefines num_phases and param_scheduler.
_base_ = ['../datasets/cifar100_bs64.py', '../schedules/crd_240e.py']

num_phases = 4  # stages 1-3, then the head phase
model = dict(type='SSKD',
             stage_loss=dict(type='FeatureL2Loss', reduction='channel_sum', loss_weight=1.0))
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='StageStepLR', num_stages=num_phases, milestones=(0.3, 0.6, 0.9), gamma=0.1,
         stage_factors=[1, 1, 1, 10], by_epoch=True, convert_to_iter_based=True)]
custom_hooks = [dict(type='SSKDStageHook'), dict(type='StudentCheckpointHook')]
# Only the current stage gets gradients: DDP must tolerate unused parameters.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
