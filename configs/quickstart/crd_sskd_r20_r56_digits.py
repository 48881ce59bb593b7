# Quickstart CRD suite: configs/sskd/resnet20_r56_cifar100.py on the 8x8 digits with the
# CRD-suite digits teacher (configs/quickstart/crd_teacher_r56_digits.py).
# SSKD: 4 phases splitting the budget evenly, as in sskd_r18_r34_digits.py: LR 0.01 for every
# backbone stage (the recipe's channel-sum / position-mean stage loss), no LR steps inside the
# short backbone phases, head phase x10 with its 30/60/90 % steps.
_base_ = ['../sskd/resnet20_r56_cifar100.py', './_base_/digits_r56_r20.py']

model = dict(student=_base_.crd_digits_arch, teacher=_base_.crd_digits_arch,
             teacher_ckpt=_base_.crd_digits_teacher_ckpt, probe_input_shape=(3, 16, 16))
data_preprocessor = _base_.digits_preprocessor
train_dataloader = _base_.digits_train_dataloader
val_dataloader = _base_.digits_val_dataloader
test_dataloader = val_dataloader
param_scheduler = [
    dict(type='StageStepLR', num_stages=_base_.num_phases, gamma=0.1,
         milestones=[[], [], [], [0.3, 0.6, 0.9]], stage_factors=[1, 1, 1, 10],
         by_epoch=True, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=8, val_begin=1)
default_hooks = _base_.digits_default_hooks
work_dir = './work_dirs/quickstart_crd_sskd_r20_r56_digits'
