# DIST (Huang et al., NeurIPS 2022) on the CRD benchmark with the authors' CIFAR recipe
# (hunto/image_classification_sota configs/strategies/distill/dist_cifar.yaml:
# ori_loss_weight 1, kd_loss_weight 2, kd dist_t4; 240 epochs, batch 64, SGD LR 0.05, wd 5e-4,
# x0.1 at 150/180/210 as CRD): L = CE + 2 * tau^2 * (inter + intra), tau = 4 -- the same
# weights as configs/dist/resnet18_r34_cifar100.py (loss_weight 2 on the whole DIST term,
# beta = gamma = 1).
# A pair config adds model.student, model.teacher, model.teacher_ckpt and work_dir.
_base_ = ['../datasets/cifar100_bs64.py', '../schedules/crd_240e.py']

model = dict(type='DIST', alpha=1.0, beta=1.0, gamma=1.0, tau=4.0, loss_weight=2.0)
custom_hooks = [dict(type='StudentCheckpointHook')]
