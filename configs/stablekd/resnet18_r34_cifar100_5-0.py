# StableKD-5/0: decomposition only, no recomposition; ResNet-34 -> ResNet-18 on CIFAR-100,
# 60 epochs. Reproduces StableKD paper Table 5, row StableKD-5/0: 77.26 % top-1 at 60 epochs
# (76.59 / 76.90 at 20 / 40 epochs, other budgets via train_cfg.max_epochs), and the 5/0
# curve of Fig. 3. That row is DnD's recipe: DnD Table 5, column "DnD": SGD lr 0.05,
# OneCycleLR with max_lr = 10*lr = 0.5 over all iterations (epochs n, steps_per_epoch D/b),
# the other OneCycleLR settings PyTorch's defaults (pct_start 0.3, cosine annealing,
# div_factor 25, final_div_factor 1e4), which MMEngine's OneCycleLR shares, and PyTorch's
# momentum cycle (cycle_momentum=True: 0.95 -> 0.85 at the LR peak -> 0.95, cosine), which
# MMEngine's OneCycleLR lacks: OneCycleMomentum (the optimizer's momentum 0.9 is overridden).
_base_ = ['./resnet18_r34_cifar100.py']

num_recompositions = 0
model = dict(num_recompositions=num_recompositions)
param_scheduler = [
    dict(type='OneCycleLR', eta_max=0.5, pct_start=0.3, anneal_strategy='cos',
         div_factor=25, final_div_factor=1e4, by_epoch=True, convert_to_iter_based=True),
    dict(type='OneCycleMomentum', base_momentum=0.85, max_momentum=0.95, pct_start=0.3,
         anneal_strategy='cos', by_epoch=True, convert_to_iter_based=True)]
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_5-0'
