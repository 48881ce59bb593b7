# DKD (decoupled KD, Zhao et al., CVPR 2022) on the CRD benchmark with the authors' released
# CIFAR-100 recipe (megvii-research/mdistiller): L = CE_WEIGHT * CE + min(e / WARMUP, 1) *
# tau^2 * (ALPHA * TCKD + BETA * NCKD) with CE_WEIGHT 1, ALPHA 1, BETA 8, T (tau) 4 and WARMUP
# 20 epochs (mdistiller/engine/cfg.py, CFG.DKD.*, the warm-up as applied in
# mdistiller/distillers/DKD.py; BETA is per pair, from configs/cifar100/dkd/<pair>.yaml, see
# the pair configs; the paper text was not at hand, so the released code is the source of
# every value here), and its solver: 240 epochs, batch 64, SGD LR 0.05
# momentum 0.9, wd 5e-4, x0.1 at 150/180/210 (configs/cifar100/dkd/*.yaml SOLVER) -- the CRD
# data and schedule of the other CRD recipes (0.01 for ShuffleNet/MobileNet students in
# mdistiller; none of the pairs here has one).
# The generic LogitDistiller with MMRazor's DKDLoss arguments (an MMRazor
# dict(type='DKDLoss', tau=..., alpha=..., beta=..., loss_weight=...) drops in unchanged);
# warmup_epochs is mdistiller's WARMUP (MMRazor's loss has none).
# A pair config adds model.student, model.teacher, model.teacher_ckpt, the pair's beta and
# work_dir.
_base_ = ['../datasets/cifar100_bs64.py', '../schedules/crd_240e.py']

model = dict(type='LogitDistiller', ce_weight=1.0, loss_name='loss_dkd',
             distill_loss=dict(type='DKDLoss', tau=4.0, alpha=1.0, beta=8.0, loss_weight=1.0,
                               warmup_epochs=20))
custom_hooks = [dict(type='StudentCheckpointHook')]
