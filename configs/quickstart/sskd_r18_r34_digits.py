# Quickstart SSKD (stage-by-stage KD): configs/sskd/resnet18_r34_cifar100.py on the 8x8 digits
# with the quickstart teacher, unchanged otherwise: the paper's psi = ||a - b||^2 stage loss and
# per-stage LR 0.01 with x0.1 at 30/60/90 % of every phase. The phases split
# train_cfg.max_epochs evenly (6 epochs -> 1, 1, 1, 1 and 2 for the head), so they follow any
# budget, and the LR steps fall on iterations inside each phase. The head is only trained in
# the last phase, so the accuracy is at chance level until then; it is validated every epoch
# to show that.
_base_ = ['../sskd/resnet18_r34_cifar100.py', './_base_/digits_r34_r18.py']

model = dict(student=_base_.digits_arch, teacher=_base_.digits_arch,
             teacher_ckpt=_base_.digits_teacher_ckpt, probe_input_shape=(3, 16, 16))
data_preprocessor = _base_.digits_preprocessor
train_dataloader = _base_.digits_train_dataloader
val_dataloader = _base_.digits_val_dataloader
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=6, val_begin=1)
default_hooks = _base_.digits_default_hooks
