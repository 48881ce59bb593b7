# DIST (Huang et al., NeurIPS 2022): ResNet-34 -> ResNet-18 (mmpretrain ResNet_CIFAR) on
# CIFAR-100 with the authors' released CIFAR-100 recipe (image_classification_sota,
# configs/strategies/distill/dist_cifar.yaml; DIST paper Table 1, strategy A1):
# - loss CE + 2 * tau^2 * (inter + intra) with tau = 4 ("dist_t4"), i.e. CE weight 1
#   (alpha; the recipe's ori_loss weight), DIST weight 2 (loss_weight; the recipe's kd_loss
#   weight), beta = gamma = 1 (DIST's defaults, unchanged by the recipe);
# - SGD momentum 0.9, lr 0.05, batch 64 (1 GPU), weight decay 5e-4, 240 epochs, x0.1 at epochs
#   150/180/210; random crop + flip (mmpretrain's CIFAR-100 pipeline).
# Pearson as in the released code (eps 1e-8 on the product of the norms); the intra-class term
# is per process like theirs (gather_intra=False; True correlates over the global batch).
# Same student, teacher and data as configs/kd/resnet18_r34_cifar100.py; the schedule is DIST's
# own (240 epochs), not the 60-epoch OneCycle of the StableKD comparison configs.
_base_ = ['../kd/resnet18_r34_cifar100.py']

model = dict(_delete_=True,
             type='DIST',
             student=_base_.student,
             teacher=_base_.teacher,
             teacher_ckpt='work_dirs/teachers_resnet34_cifar100/epoch_200.pth',
             alpha=1.0,
             beta=1.0,
             gamma=1.0,
             tau=4.0,
             loss_weight=2.0,
             gather_intra=False)

train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)]
train_cfg = dict(max_epochs=240)
work_dir = './work_dirs/dist_resnet18_r34_cifar100'
