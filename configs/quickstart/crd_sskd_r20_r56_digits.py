# Quickstart CRD suite: configs/sskd/resnet20_r56_cifar100.py on the 8x8 digits with the
# CRD-suite digits teacher (configs/quickstart/crd_teacher_r56_digits.py).
# SSKD: 4 phases splitting the budget evenly, LR 0.01 without per-phase steps (too few epochs
# per phase), as in sskd_r18_r34_digits.py.
_base_ = ['../sskd/resnet20_r56_cifar100.py', './_base_/digits_r56_r20.py']

model = dict(student=_base_.crd_digits_arch, teacher=_base_.crd_digits_arch,
             teacher_ckpt=_base_.crd_digits_teacher_ckpt, probe_input_shape=(3, 16, 16))
data_preprocessor = _base_.digits_preprocessor
train_dataloader = _base_.digits_train_dataloader
val_dataloader = _base_.digits_val_dataloader
test_dataloader = val_dataloader
param_scheduler = []
custom_hooks = [dict(type='SSKDStageHook'), dict(type='StudentCheckpointHook')]
train_cfg = dict(max_epochs=8, val_begin=1)
default_hooks = _base_.digits_default_hooks
work_dir = './work_dirs/quickstart_crd_sskd_r20_r56_digits'
