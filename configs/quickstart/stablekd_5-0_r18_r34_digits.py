# Quickstart StableKD-5/0 (decomposition only): configs/stablekd/resnet18_r34_cifar100_5-0.py on
# the 8x8 digits with the quickstart teacher.
_base_ = ['../stablekd/resnet18_r34_cifar100_5-0.py', './_base_/digits_r34_r18.py']

model = dict(student=_base_.digits_arch, teacher=_base_.digits_arch,
             teacher_ckpt=_base_.digits_teacher_ckpt, probe_input_shape=(3, 16, 16))
data_preprocessor = _base_.digits_preprocessor
train_dataloader = _base_.digits_train_dataloader
val_dataloader = _base_.digits_val_dataloader
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=6)
default_hooks = _base_.digits_default_hooks
work_dir = './work_dirs/quickstart_stablekd_5-0_r18_r34_digits'
