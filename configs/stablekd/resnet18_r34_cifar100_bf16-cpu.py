# StableKD-5/2 with bf16 autocast on CPU (what `tools/train.py --amp` selects without CUDA).
_base_ = ['./resnet18_r34_cifar100.py']

optim_wrapper = dict(type='CPUAmpOptimWrapper', dtype='bfloat16')
work_dir = './work_dirs/stablekd_resnet18_r34_cifar100_bf16-cpu'
