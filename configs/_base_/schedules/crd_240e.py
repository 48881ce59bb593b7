# The CRD benchmark's schedule (Tian et al., ICLR 2020; HobbitLong/RepDistiller
# train_teacher.py and train_student.py defaults, also DIST's configs/strategies/distill/
# dist_cifar.yaml): 240 epochs, SGD momentum 0.9, LR 0.05 x0.1 at epochs 150/180/210,
# weight decay 5e-4; plus mmpretrain's default runtime, a checkpoint every epoch (last 3 kept).
_base_ = ['mmpretrain::_base_/default_runtime.py']

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# Run management (README "What happens when things go wrong"): stop at a NaN/inf loss, one
# training run per work dir, bit-identical --resume (mmstablekd's hooks: every config on this
# schedule also lists _base_/models/crd_cifar100_nets.py, whose custom_imports loads them).
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
                     logger=dict(type='LoggerHook', interval=50),
                     nonfinite_guard=dict(type='NonFiniteGuardHook'),
                     work_dir_lock=dict(type='WorkDirLockHook'),
                     resume_state=dict(type='ResumeStateHook'))
