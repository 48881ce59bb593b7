# Quickstart CRD suite: configs/stablekd/resnet20_r56_cifar100.py on the 8x8 digits with the
# CRD-suite digits teacher (configs/quickstart/crd_teacher_r56_digits.py).
# StableKD-5/2 {1}{2}{3}{4}{5} -> {12}{34}{5} -> {1234}{5} (StageCyclicLR and
# StageCyclicMomentum follow the budget: 3 stages).
_base_ = ['../stablekd/resnet20_r56_cifar100.py', './_base_/digits_r56_r20.py']

model = dict(student=_base_.crd_digits_arch, teacher=_base_.crd_digits_arch,
             teacher_ckpt=_base_.crd_digits_teacher_ckpt, probe_input_shape=(3, 16, 16))
data_preprocessor = _base_.digits_preprocessor
train_dataloader = _base_.digits_train_dataloader
val_dataloader = _base_.digits_val_dataloader
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=8)
default_hooks = _base_.digits_default_hooks
work_dir = './work_dirs/quickstart_crd_stablekd_r20_r56_digits'
