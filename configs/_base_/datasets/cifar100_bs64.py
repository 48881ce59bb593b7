# CIFAR-100 with mmpretrain's CIFAR100 dataset and pipeline (random crop 32 with 4-pixel
# padding, horizontal flip, CRD's per-channel mean/std), batch 64: the CRD benchmark's data
# (HobbitLong/RepDistiller train_teacher.py / train_student.py: --batch_size 64).
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']

# LocalCIFAR100: mmpretrain's CIFAR100 reading the same files, but a missing data/cifar100
# stops at data set build with one message (path, layout, download URL); nothing is downloaded
# (mmpretrain's own type downloads by default). mmstablekd/datasets/local_data.py.
train_dataloader = dict(batch_size=64, num_workers=2, dataset=dict(type='LocalCIFAR100'))
val_dataloader = dict(batch_size=64, num_workers=2, dataset=dict(type='LocalCIFAR100'))
test_dataloader = val_dataloader
