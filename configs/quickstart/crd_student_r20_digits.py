# Quickstart CRD suite, baseline: ResNet-20 (CifarResNet) trained from scratch on the digits,
# i.e. the CRD-suite teacher config with depth 20 and a budget-following OneCycle (peak 0.05).
_base_ = ['./crd_teacher_r56_digits.py']

model = dict(backbone=dict(depth=20))
param_scheduler = _base_.crd_digits_scheduler
train_cfg = dict(max_epochs=8)
work_dir = './work_dirs/quickstart_crd_student_r20_digits'
