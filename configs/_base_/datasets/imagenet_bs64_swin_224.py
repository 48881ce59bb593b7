# ImageNet-1k with mmpretrain's imagenet_bs64_swin_224 data set config (Swin's 224 pipeline:
# RandAugment, RandomErasing; batch 64 per process), unchanged but for the data set type.
# LocalImageNet: mmpretrain's ImageNet reading the same files, but a missing data/imagenet
# stops at data set build with one message (path, layout, download page).
# mmstablekd/datasets/local_data.py.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py']

train_dataloader = dict(dataset=dict(type='LocalImageNet'))
val_dataloader = dict(dataset=dict(type='LocalImageNet'))
test_dataloader = val_dataloader
