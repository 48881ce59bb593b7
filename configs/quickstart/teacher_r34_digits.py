# Quickstart teacher: configs/teachers/resnet34_cifar100.py on the 8x8 digits (16x16 input),
# widths 16-32-64-128, 15 epochs with the LR steps moved accordingly.
#   python tools/train.py configs/quickstart/teacher_r34_digits.py
_base_ = ['../teachers/resnet34_cifar100.py', './_base_/digits_r34_r18.py']

model = dict(_base_.digits_arch)
data_preprocessor = _base_.digits_preprocessor
train_dataloader = _base_.digits_train_dataloader
val_dataloader = _base_.digits_val_dataloader
test_dataloader = val_dataloader
param_scheduler = dict(milestones=[8, 12])
train_cfg = dict(max_epochs=_base_.digits_teacher_epochs)
default_hooks = _base_.digits_default_hooks
work_dir = './work_dirs/quickstart_teacher_r34_digits'
