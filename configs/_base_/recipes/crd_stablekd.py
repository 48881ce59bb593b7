# StableKD (paper's CIFAR-100 recipe, configs/stablekd/resnet18_r34_cifar100.py) on the CRD
# benchmark pairs: StableKD-5/2 ending in {backbone}{head}, as the paper's ResNet-18 recipe
# {1}{2}{3}{4}{5} -> {12}{34}{5} -> {1234}{5} (StableKD paper Table 5, 5/2; DnD Sec. 4.2:
# merging the convolutional part with the FC layer overfits, so the last stage keeps the
# boundary at the head's input). Blocks for the CIFAR ResNets and WRNs (3 stages): stem |
# layer1 | layer2 | layer3 | pool+fc, i.e. the boundaries after the stem and after every stage
# (crd_resnet_boundaries / crd_wrn_boundaries below, set by each pair config; the stem's
# output is backbone.relu for CifarResNet, backbone.conv1 for the pre-activation WRN). CifarVGG
# has 4 stages of its own, so its default boundaries already give these 5 blocks.
# n = 2 recompositions (the paper's CIFAR choice of 3 training stages). Each stage floor(e/3)
# epochs (the last one the rest), one triangular LR cycle per stage (base 3e-3*lr, peak
# 10*lr = 0.5, amplitude halving) with the inverse momentum cycle 0.9 -> 0.8 -> 0.9 (PyTorch
# CyclicLR's defaults, which DnD Table 5 runs; as configs/stablekd/resnet18_r34_cifar100.py),
# SGD, wd 5e-4, batch 128 (StableKD paper, App. B), softmax temperature 1 ("used for all
# experiments", StableKD Sec. 4.1) and lambda = 1 as in configs/stablekd/resnet18_r34_cifar100.py.
# Deviation: 240 epochs (the CRD budget, so that every method of the table trains as long; the
# paper reports 20-200 epochs).
# A pair config adds model.student, model.teacher, model.teacher_ckpt, model.boundaries (for
# ResNet/WRN pairs) and work_dir.
_base_ = ['../datasets/cifar100_bs128.py', '../schedules/crd_240e.py']

crd_resnet_boundaries = ['backbone.relu', 'backbone.layer1', 'backbone.layer2',
                         'backbone.layer3']
crd_wrn_boundaries = ['backbone.conv1', 'backbone.layer1', 'backbone.layer2',
                      'backbone.layer3']
num_recompositions = 2
model = dict(
    type='StableKD',
    num_recompositions=num_recompositions,
    distill_loss=dict(type='KDLoss', tau=1.0, loss_weight=1.0),
    feature_loss=dict(type='FeatureMSELoss', loss_weight=1.0))
param_scheduler = [
    dict(type='StageCyclicLR', num_stages=num_recompositions + 1, base_ratio=3e-3,
         peak_ratio=10.0, by_epoch=True, convert_to_iter_based=True),
    dict(type='StageCyclicMomentum', num_stages=num_recompositions + 1, base_momentum=0.8,
         max_momentum=0.9, by_epoch=True, convert_to_iter_based=True),
]
custom_hooks = [dict(type='StableKDStageHook'), dict(type='StudentCheckpointHook')]
