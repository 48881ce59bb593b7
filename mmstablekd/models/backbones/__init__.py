from .wide_resnet_cifar import WideResNet_CIFAR

__all__ = ['WideResNet_CIFAR']
