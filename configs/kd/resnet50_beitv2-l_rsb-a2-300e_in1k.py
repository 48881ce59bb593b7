# VanillaKD (Hao et al. 2023): BEiTv2-L -> ResNet-50 on ImageNet-1k with mmpretrain's
# "ResNet strikes back" A2 recipe, 300 epochs: the paper's main pair (Sec. 3.1). The recipe is
# mmpretrain's resnet/resnet50_8xb256-rsb-a2-300e_in1k.py, inherited untouched: only `model`
# changes; loss, alpha and tau as in resnet50_r152_rsb-a2-300e_in1k.py (see there).
#
# Paper numbers (not measured here): student 80.89 % top-1 (VanillaKD Table 3 and Table 4
# "BCE + KL"; DKD 80.77, DIST 80.70; binary KL instead of KL 79.36, Table 4); teacher
# BEiTv2-L 88.39 %.
#
# Teacher: timm's beitv2_large_patch16_224.in1k_ft_in22k_in1k, the official BEiT v2 large
# weights "pretrained on 1k, fine-tuned 21k -> 1k" (the authors' scripts name their BEiTv2
# teachers *_pt1k_ft21kto1k), through mmpretrain's TimmClassifier (mmpretrain's configs have
# BEiTv2 base only).
# Nothing is downloaded at run time: write the weights once (network needed) with
#   python -c "import timm, torch; torch.save(timm.create_model(
#     'beitv2_large_patch16_224.in1k_ft_in22k_in1k', pretrained=True).state_dict(),
#     'work_dirs/pretrained/beitv2_large_patch16_224.in1k_ft_in22k_in1k.pth')"
# (https://huggingface.co/timm/beitv2_large_patch16_224.in1k_ft_in22k_in1k).
# Its preprocessing (timm pretrained_cfg: 224 x 224, ImageNet mean/std, RGB) is stated in
# teacher_data_preprocessor; a teacher with other statistics (e.g. BEiT v1's 0.5/0.5) or
# resolution only changes those values (+ size=...).
#
# Batch 2048 = 8 processes x 256: bash tools/dist_train.sh CONFIG 8 (--auto-scale-lr else).
_base_ = 'mmpretrain::resnet/resnet50_8xb256-rsb-a2-300e_in1k.py'
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)

# Student: the recipe's model, BCE loss_weight=1e-3 (mmpretrain sums the BCE over the 1000
# classes, the authors' timm loss averages: see resnet50_r152_rsb-a2-300e_in1k.py).
_student = _base_.model
student = dict(_student, head=dict(_student.head,
                                   loss=dict(_student.head.loss, loss_weight=1e-3)))
teacher = dict(type='TimmClassifier', model_name='beitv2_large_patch16_224.in1k_ft_in22k_in1k',
               pretrained=False)
model = dict(
    _delete_=True,
    type='VanillaKD',
    student=student,
    teacher=teacher,
    teacher_ckpt='work_dirs/pretrained/beitv2_large_patch16_224.in1k_ft_in22k_in1k.pth',
    alpha=0.5,
    tau=1.0,
    teacher_data_preprocessor=dict(mean=[123.675, 116.28, 103.53],
                                   std=[58.395, 57.12, 57.375]))

# Run management, not recipe: checkpoint every epoch (keep 3), stop at a NaN/inf loss, one
# run per work dir, bit-identical --resume; student-only checkpoints.
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
                     nonfinite_guard=dict(type='NonFiniteGuardHook'),
                     work_dir_lock=dict(type='WorkDirLockHook'),
                     resume_state=dict(type='ResumeStateHook'))
custom_hooks = [dict(type='StudentCheckpointHook')]
# Data: ImageNet-1k under data/imagenet, read by LocalImageNet (mmpretrain's ImageNet; missing
# files stop at data set build with one message naming the path, layout and download page;
# mmstablekd/datasets/local_data.py).
train_dataloader = dict(dataset=dict(type='LocalImageNet'))
val_dataloader = dict(dataset=dict(type='LocalImageNet'))
test_dataloader = val_dataloader
work_dir = './work_dirs/kd_resnet50_beitv2-l_rsb-a2-300e_in1k'
