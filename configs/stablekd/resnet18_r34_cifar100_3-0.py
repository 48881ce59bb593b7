# StableKD-3/0: blocks {stem+layer1+layer2}{layer3+layer4}{neck+head}, no recomposition;
# ResNet-34 -> ResNet-18 on CIFAR-100, 60 epochs. Reproduces the StableKD-3/0 curve of the
# StableKD paper's Fig. 3 (validation accuracy over 60 epochs; the text gives no final
# number). Fig. 3 (Sec. 5.1): "60 epochs, with a learning rate of 0.05 and a OneCycleLR
# scheduler", i.e. DnD Table 5's recipe: SGD lr 0.05, OneCycleLR max_lr = 10*lr = 0.5, the
# other settings PyTorch's defaults, momentum cycled 0.95 -> 0.85 -> 0.95 (see
# resnet18_r34_cifar100_5-0.py). The paper does not name the 3-block cut; we cut where the 3/1
# config does (after layer2 and layer4), by feature size as its App. D describes.
_base_ = ['./resnet18_r34_cifar100_5-0.py']

model = dict(boundaries=['backbone.layer2', 'backbone.layer4'])
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_3-0'
