# CIFAR-100 with mmpretrain's CIFAR100 dataset and pipeline, batch 128 (the papers' setting).
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']

train_dataloader = dict(batch_size=128, num_workers=2)
val_dataloader = dict(batch_size=128, num_workers=2)
test_dataloader = val_dataloader
