# SSKD (stage-by-stage), CRD benchmark pair VGG-13 -> VGG-8 on CIFAR-100.
# Recipe: configs/_base_/recipes/crd_sskd.py; train the teacher first:
# configs/teachers/vgg13_cifar100.py.
# Published top-1 (%) for this pair:
#   teacher 74.64, student (scratch) 70.36, KD 72.98 (CRD Table 1 / RepDistiller README);
#   DKD 74.68 (DKD, Zhao et al. CVPR 2022 / megvii-research/mdistiller README).
#   DIST: not in hunto/DIST_KD's README table. SSKD, StableKD: not published for this pair.
# Phases: CifarVGG's 4 stages (CRD blocks 0 | 1 | 2 | 3+4, ending at its down-sampling layers
# as SSKD recommends), then the head: 5 phases of 48 epochs (240 in all). LR 0.01 for every
# backbone stage, x10 (LR 0.1) for the head, as in the recipe.
_base_ = ['../_base_/models/crd_cifar100_nets.py', '../_base_/recipes/crd_sskd.py']

model = dict(student=_base_.crd_nets.vgg8, teacher=_base_.crd_nets.vgg13,
             teacher_ckpt='work_dirs/teachers_vgg13_cifar100/epoch_240.pth')

num_phases = 5  # stages 1-4, then the head phase
param_scheduler = [
    dict(type='StageStepLR', num_stages=num_phases, milestones=(0.3, 0.6, 0.9), gamma=0.1,
         stage_factors=[1, 1, 1, 1, 10], by_epoch=True, convert_to_iter_based=True)]
work_dir = './work_dirs/sskd_vgg8_vgg13_cifar100'
