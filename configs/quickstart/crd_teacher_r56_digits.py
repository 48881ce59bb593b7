# Quickstart CRD suite, teacher: configs/teachers/resnet56_cifar100.py (CRD recipe) on the 8x8
# digits (16x16 input, 10 classes), 15 epochs with the x0.1 steps at the same fractions of
# the budget as CRD's 150/180/210 of 240 (epochs 9, 11, 13).
#   python tools/train.py configs/quickstart/crd_teacher_r56_digits.py
_base_ = ['../teachers/resnet56_cifar100.py', './_base_/digits_r56_r20.py']

model = dict(_base_.crd_digits_arch)
data_preprocessor = _base_.digits_preprocessor
train_dataloader = _base_.digits_train_dataloader
val_dataloader = _base_.digits_val_dataloader
test_dataloader = val_dataloader
param_scheduler = dict(milestones=[9, 11, 13])
train_cfg = dict(max_epochs=_base_.crd_digits_teacher_epochs)
default_hooks = _base_.digits_default_hooks
work_dir = './work_dirs/quickstart_crd_teacher_r56_digits'
