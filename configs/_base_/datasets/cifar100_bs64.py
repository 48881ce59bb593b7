# CIFAR-100 with mmpretrain's CIFAR100 dataset and pipeline (random crop 32 with 4-pixel
# padding, horizontal flip, CRD's per-channel mean/std), batch 64: the CRD benchmark's data
# (HobbitLong/RepDistiller train_teacher.py / train_student.py: --batch_size 64).
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']

train_dataloader = dict(batch_size=64, num_workers=2)
val_dataloader = dict(batch_size=64, num_workers=2)
test_dataloader = val_dataloader
