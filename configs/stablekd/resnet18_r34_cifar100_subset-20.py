# StableKD-5/2 on a class-balanced 20 % of CIFAR-100 (100 images per class, seed 0), 300 epochs:
# the data-efficiency study of the StableKD paper, Table 2 (76.10 % top-1; vanilla KD 55.65 %).
# Validation uses the full test set.
_base_ = ['./resnet18_r34_cifar100.py']

train_dataloader = dict(dataset=dict(
    _delete_=True, type='ClassBalancedSubset', fraction=0.2, seed=0,
    dataset=_base_.train_dataloader.dataset))
train_cfg = dict(max_epochs=300)  # Table 2 trains every subset for 300 epochs
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_subset-20'
