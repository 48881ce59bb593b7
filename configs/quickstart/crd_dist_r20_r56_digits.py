# Quickstart CRD suite: configs/dist/resnet20_r56_cifar100.py on the 8x8 digits with the
# CRD-suite digits teacher (configs/quickstart/crd_teacher_r56_digits.py).
# DIST (CE + 2 tau^2 (inter + intra), tau 4).
_base_ = ['../dist/resnet20_r56_cifar100.py', './_base_/digits_r56_r20.py']

model = dict(student=_base_.crd_digits_arch, teacher=_base_.crd_digits_arch,
             teacher_ckpt=_base_.crd_digits_teacher_ckpt)
data_preprocessor = _base_.digits_preprocessor
train_dataloader = _base_.digits_train_dataloader
val_dataloader = _base_.digits_val_dataloader
test_dataloader = val_dataloader
param_scheduler = _base_.crd_digits_scheduler
train_cfg = dict(max_epochs=8)
default_hooks = _base_.digits_default_hooks
work_dir = './work_dirs/quickstart_crd_dist_r20_r56_digits'
