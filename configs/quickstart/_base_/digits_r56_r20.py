# Quickstart data for the CRD-suite pair ResNet-56 -> ResNet-20 (CifarResNet, widths 16-32-64,
# as in the CIFAR-100 configs): the digits, preprocessing and hooks of ./digits_r34_r18.py,
# 10 classes. The crd_* quickstart configs list this file next to a real CRD-suite config.
_base_ = ['./digits_r34_r18.py']

crd_digits_arch = dict(head=dict(num_classes=10))
crd_digits_teacher_epochs = 15
# Written by `python tools/train.py configs/quickstart/crd_teacher_r56_digits.py` (and by
# `python tools/benchmark.py --suite crd`, which trains it there if it is missing).
crd_digits_teacher_ckpt = ('work_dirs/quickstart_crd_teacher_r56_digits/'
                           f'epoch_{crd_digits_teacher_epochs}.pth')
# The CRD step schedule (x0.1 at 150/180/210 of 240 epochs) needs a fixed budget; the digits
# runs take the budget from the benchmark, so their students use a budget-following OneCycle
# with the CRD peak LR 0.05 instead (deliberate deviation, as the other quickstart baselines).
crd_digits_scheduler = dict(_delete_=True, type='OneCycleLR', eta_max=0.05, by_epoch=True,
                            convert_to_iter_based=True)
