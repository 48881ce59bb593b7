# Vanilla KD on the CRD benchmark (Hinton et al. 2015 in the protocol of CRD, Tian et al.,
# ICLR 2020): loss 0.1*CE + 0.9*tau^2*KL with tau = 4 (RepDistiller README command `-r 0.1
# -a 0.9`, train_student.py `--kd_T 4`, DistillKL multiplies by T^2 and averages over the
# batch = our VanillaKD's (1-alpha)*CE + alpha*tau^2*KL with alpha = 0.9), the CRD data and
# schedule (batch 64, 240 epochs, SGD LR 0.05 x0.1 at 150/180/210, wd 5e-4).
# A pair config adds model.student, model.teacher, model.teacher_ckpt and work_dir.
_base_ = ['../datasets/cifar100_bs64.py', '../schedules/crd_240e.py']

model = dict(type='VanillaKD', alpha=0.9, tau=4.0)
custom_hooks = [dict(type='StudentCheckpointHook')]
