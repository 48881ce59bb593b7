# "KD + MSE": vanilla KD plus feature MSE at the four block boundaries, with NO teacher features
# fed to the next student block (end-to-end, no decomposition); ResNet-34 -> ResNet-18 on
# CIFAR-100, 60 epochs. Reproduces StableKD paper Table 4, column "KD + MSE": 77.15 % top-1
# (KD 76.19 %, StableKD-5/2 79.39 %). Loss: CE + lambda*KL + sum of the MSE at layer1..layer4
# (paper eq. 8 with lambda = 1, as in our StableKD configs), all boundaries active for all
# epochs (no stages). LR: the paper's recipe for its comparison schemes (StableKD App. B: SGD,
# OneCycle, max LR 0.1, batch 128, wd 5e-4; DnD Table 5 "Other approaches": lr 0.01,
# max_lr = 10*lr, the other OneCycleLR settings PyTorch's defaults, including its momentum
# cycle 0.95 -> 0.85 -> 0.95, here OneCycleMomentum), as the KD baseline
# configs/kd/resnet18_r34_cifar100.py.
_base_ = ['./resnet18_r34_cifar100.py']

model = dict(num_recompositions=0, feed_teacher_features=False)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='OneCycleLR', eta_max=0.1, pct_start=0.3, anneal_strategy='cos',
         div_factor=25, final_div_factor=1e4, by_epoch=True, convert_to_iter_based=True),
    dict(type='OneCycleMomentum', base_momentum=0.85, max_momentum=0.95, pct_start=0.3,
         anneal_strategy='cos', by_epoch=True, convert_to_iter_based=True)]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_kd-mse'
