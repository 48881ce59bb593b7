# Quickstart baseline: the ResNet-18 student trained from scratch (no teacher) on the digits,
# i.e. the quickstart teacher config with depth 18 and the baselines' OneCycle LR (peak 0.1),
# which follows train_cfg.max_epochs, with PyTorch's OneCycle momentum cycle (0.95 -> 0.85 ->
# 0.95) as configs/kd/resnet18_r34_cifar100.py.
_base_ = ['./teacher_r34_digits.py']

model = dict(backbone=dict(depth=18))
param_scheduler = [
    dict(type='OneCycleLR', eta_max=0.1, by_epoch=True, convert_to_iter_based=True),
    dict(type='OneCycleMomentum', base_momentum=0.85, max_momentum=0.95, pct_start=0.3,
         anneal_strategy='cos', by_epoch=True, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=6)
work_dir = './work_dirs/quickstart_student_r18_digits'
