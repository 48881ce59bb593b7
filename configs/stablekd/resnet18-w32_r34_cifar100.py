# StableKD-5/2 with projectors: ResNet-34 -> a half-width ResNet-18 (stage widths 32/64/128/256
# vs the teacher's 64/128/256/512) on CIFAR-100, 60 epochs. Not a paper table: the paper
# bridges different widths with 1x1 projectors "within the student network" (Sec. 5.4,
# Table 6, WRN16-10 -> WRN16-8 with StableKD-2/1, 11.0M -> 11.6M parameters), but its 2/1 run
# ends with no boundary left. Here boundary 4 stays active in the last stage {1234}{5}, so the
# head learns on the projected feature and its projector stays in the deployed student:
# StudentCheckpointHook writes student_epoch_60.pth + student_epoch_60.py (a
# BoundaryProjectedClassifier); evaluate it with resnet18-w32_r34_cifar100_deploy.py.
# Everything else (recipe, stages, LR and momentum cycles) as resnet18_r34_cifar100.py.
_base_ = ['./resnet18_r34_cifar100.py']

student = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=4, out_indices=(3, ),
                  style='pytorch', stem_channels=32, base_channels=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=256,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
model = dict(student=student, projectors=True)
# Idle projectors (boundaries 1-3 in the last stage) get no gradient: DDP must allow that.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
work_dir = './work_dirs/stablekd_resnet18-w32_r34_cifar100'
