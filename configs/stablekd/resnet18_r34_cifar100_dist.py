# StableKD x DIST: StableKD-5/2 (configs/stablekd/resnet18_r34_cifar100.py) with the DIST loss
# in place of KL on the final block: CE + 2 * 4^2 * (inter + intra) + sum of boundary MSEs.
# No published system combines the two, so no paper gives these weights. We use the DIST
# authors' CIFAR-100 weights (configs/dist/resnet18_r34_cifar100.py: tau = 4, DIST weight 2,
# beta = gamma = 1; image_classification_sota dist_cifar.yaml), because they were tuned next to
# CE weight 1, which is also StableKD's CE weight; StableKD's lambda = 1 was tuned for KL at
# tau = 1 and says nothing about DIST. Everything else (stages, LR schedule) is unchanged.
_base_ = ['./resnet18_r34_cifar100.py']

model = dict(distill_loss=dict(_delete_=True, type='DISTLoss', beta=1.0, gamma=1.0, tau=4.0,
                               loss_weight=2.0))
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_dist'
