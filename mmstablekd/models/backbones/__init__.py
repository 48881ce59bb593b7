from .cifar_resnet import CifarResNet
from .cifar_vgg import CifarVGG
from .wide_resnet_cifar import WideResNet_CIFAR

__all__ = ['CifarResNet', 'CifarVGG', 'WideResNet_CIFAR']
