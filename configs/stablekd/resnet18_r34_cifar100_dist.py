# StableKD x DIST: StableKD-5/2 (configs/stablekd/resnet18_r34_cifar100.py) with the DIST loss
# in place of KL on the final block: CE + DIST(beta=gamma=tau=1) + sum of boundary MSEs.
# No published system combines the two; everything else (stages, LR schedule) is unchanged.
_base_ = ['./resnet18_r34_cifar100.py']

model = dict(distill_loss=dict(_delete_=True, type='DISTLoss', beta=1.0, gamma=1.0, tau=1.0))
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_dist'
