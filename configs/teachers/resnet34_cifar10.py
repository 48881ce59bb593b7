# ResNet-34 on CIFAR-10: mmpretrain's own recipe, unmodified. The teacher of
# configs/kd/resnet18_r34_mmpretrain-cifar10.py:
#   python tools/train.py configs/teachers/resnet34_cifar10.py
# writes work_dirs/teachers_resnet34_cifar10/epoch_200.pth.
_base_ = ['mmpretrain::resnet/resnet34_8xb16_cifar10.py']
work_dir = './work_dirs/teachers_resnet34_cifar10'
