# Quickstart vanilla KD: configs/kd/resnet18_r34_cifar100.py (alpha 0.5, tau 1, OneCycle peak LR
# 0.1) on the 8x8 digits with the quickstart teacher and a 6-epoch budget.
_base_ = ['../kd/resnet18_r34_cifar100.py', './_base_/digits_r34_r18.py']

model = dict(student=_base_.digits_arch, teacher=_base_.digits_arch,
             teacher_ckpt=_base_.digits_teacher_ckpt)
data_preprocessor = _base_.digits_preprocessor
train_dataloader = _base_.digits_train_dataloader
val_dataloader = _base_.digits_val_dataloader
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=6)
default_hooks = _base_.digits_default_hooks
work_dir = './work_dirs/quickstart_kd_r18_r34_digits'
