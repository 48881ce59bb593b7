# VanillaKD (Hao et al. 2023): ResNet-152 -> ResNet-50 on ImageNet-1k with mmpretrain's
# "ResNet strikes back" A1 recipe, 600 epochs (Mixup 0.2, wd 0.01; paper Table 2 "A1").
# The recipe is mmpretrain's resnet/resnet50_8xb256-rsb-a1-600e_in1k.py, inherited untouched:
# only `model` changes; loss, alpha and tau in ./_base_/vanillakd_rsb.py, teacher as in
# resnet50_r152_rsb-a2-300e_in1k.py
# (see there for the teacher weights).
#
# Paper numbers (VanillaKD Table 3, A1, 600 epochs, not measured here): student 81.33 % top-1
# (DKD 81.31, DIST 81.23; the A1 student without KD 80.38); teacher ResNet-152 82.83 %.
_base_ = ['mmpretrain::resnet/resnet50_8xb256-rsb-a1-600e_in1k.py',
          './_base_/vanillakd_rsb.py']
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)

# Student: the recipe's model, BCE loss_weight=1e-3 (mmpretrain sums the BCE over the 1000
# classes, the authors' timm loss averages: see ./_base_/vanillakd_rsb.py).
_student = _base_.model
student = dict(_student, head=dict(_student.head, loss=dict(
    _student.head.loss, loss_weight=_base_.vkd_bce_loss_weight)))
teacher = dict(type='TimmClassifier', model_name='resnet152.a1h_in1k', pretrained=False)
model = dict(_base_.vkd_model, _delete_=True, student=student, teacher=teacher,
             teacher_ckpt='work_dirs/pretrained/resnet152.a1h_in1k.pth')

default_hooks = _base_.vkd_default_hooks  # run management (see the _base_ file)
custom_hooks = _base_.vkd_custom_hooks
# Data: ImageNet-1k under data/imagenet, read by LocalImageNet (mmpretrain's ImageNet; missing
# files stop at data set build with one message naming the path, layout and download page;
# mmstablekd/datasets/local_data.py).
train_dataloader = dict(dataset=dict(type='LocalImageNet'))
val_dataloader = dict(dataset=dict(type='LocalImageNet'))
test_dataloader = val_dataloader
work_dir = './work_dirs/kd_resnet50_r152_rsb-a1-600e_in1k'
