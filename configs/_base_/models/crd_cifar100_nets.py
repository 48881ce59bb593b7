# The CIFAR-100 networks of the CRD benchmark (HobbitLong/RepDistiller models/: resnet.py,
# wrn.py, vgg.py) as mmpretrain ImageClassifiers: backbone, GlobalAveragePooling and one
# Linear layer (CRD's avgpool + fc / classifier). Parameter counts with 100 classes are CRD's
# (checked in tests/test_crd_cifar.py). Configs pick one with `_base_.crd_nets.<name>`.
# Initialisation as CRD (Kaiming fan-out convs, BN 1/0) except the fc layer, which keeps
# LinearClsHead's N(0, 0.01) (CRD's VGG; its ResNet/WRN keep PyTorch's default Linear init).
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)


def _classifier(backbone, channels):
    return dict(type='ImageClassifier', backbone=backbone,
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=100, in_channels=channels,
                          loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


crd_nets = dict(
    # resnet<d>: stem 16, stages 16-32-64; resnet<d>x4: stem 32, stages 64-128-256
    resnet20=_classifier(dict(type='CifarResNet', depth=20), 64),  # 0.28M
    resnet32=_classifier(dict(type='CifarResNet', depth=32), 64),  # 0.47M
    resnet56=_classifier(dict(type='CifarResNet', depth=56), 64),  # 0.86M
    resnet110=_classifier(dict(type='CifarResNet', depth=110), 64),  # 1.74M
    resnet8x4=_classifier(
        dict(type='CifarResNet', depth=8, stem_channels=32, base_channels=64), 256),  # 1.23M
    resnet32x4=_classifier(
        dict(type='CifarResNet', depth=32, stem_channels=32, base_channels=64), 256),  # 7.43M
    # wrn-d-k (pre-activation WRN, identical to CRD's wrn.py)
    wrn16_2=_classifier(dict(type='WideResNet_CIFAR', depth=16, widen_factor=2), 128),  # 0.70M
    wrn40_1=_classifier(dict(type='WideResNet_CIFAR', depth=40, widen_factor=1), 64),  # 0.57M
    wrn40_2=_classifier(dict(type='WideResNet_CIFAR', depth=40, widen_factor=2), 128),  # 2.26M
    # CRD's vgg<d>_bn (conv blocks 64-128-256-512-512, Linear(512, 100))
    vgg8=_classifier(dict(type='CifarVGG', depth=8), 512),  # 3.96M
    vgg13=_classifier(dict(type='CifarVGG', depth=13), 512),  # 9.46M
)
