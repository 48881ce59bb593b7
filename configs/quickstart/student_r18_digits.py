# Quickstart baseline: the ResNet-18 student trained from scratch (no teacher) on the digits,
# i.e. the quickstart teacher config with depth 18 and the baselines' OneCycle LR (peak 0.1),
# which follows train_cfg.max_epochs.
_base_ = ['./teacher_r34_digits.py']

model = dict(backbone=dict(depth=18))
param_scheduler = dict(_delete_=True, type='OneCycleLR', eta_max=0.1, by_epoch=True,
                       convert_to_iter_based=True)
train_cfg = dict(max_epochs=6)
work_dir = './work_dirs/quickstart_student_r18_digits'
