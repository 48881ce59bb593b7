"""Issue 20 item 6: the distiller's optimizer sees only trainable parameters -- no per-teacher-
parameter "requires_grad=False" warnings from MMEngine's optimizer constructor (which walks
every parameter when a config has a paramwise_cfg) -- while the teacher still moves, saves
and loads with the distiller."""
import logging

import pytest
import torch
from mmengine.logging import MMLogger
from conftest import resnet_cifar_classifier
from mmengine.optim import build_optim_wrapper

from mmstablekd.models.distillers import VanillaKD


def distiller():
    return VanillaKD(student=resnet_cifar_classifier(18), teacher=resnet_cifar_classifier(34))


def test_paramwise_optimizer_skips_no_teacher_parameter_and_warns_nothing():
    model = distiller()
    seen = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        wrapper = build_optim_wrapper(model, dict(
            optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
            paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                               custom_keys={'head': dict(lr_mult=2.0)})))
    finally:
        logger.removeHandler(handler)
    assert not [m for m in seen if 'requires_grad' in m], seen[:3]
    in_groups = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert {id(p) for p in model.student.parameters()} <= in_groups
    teacher = {id(p) for p in model.teacher.parameters()}
    assert teacher and not teacher & in_groups
    head = [g for g in wrapper.optimizer.param_groups
            if any(p is model.student.head.fc.weight for p in g['params'])]
    assert head[0]['lr'] == 2e-3  # the user's paramwise_cfg still applies to the student


def test_teacher_weights_still_move_save_load_and_predict():
    model = distiller()
    x = torch.randn(2, 3, 32, 32)
    before = model.teacher_logits(x)
    state = model.state_dict()
    assert 'teacher.backbone.conv1.weight' in state and 'teacher.head.fc.bias' in state
    assert 'teacher.backbone.bn1.running_mean' in state and 'student.head.fc.bias' in state
    other = distiller()
    assert not torch.equal(other.teacher_logits(x), before)
    other.load_state_dict(state)  # strict: every key, the teacher's included, is consumed
    assert torch.equal(other.teacher_logits(x), before)
    state['teacher.head.fc.bias'] = torch.zeros(3)
    with pytest.raises(RuntimeError, match='teacher.head.fc.bias'):  # a mis-shaped key
        other.load_state_dict(state)
    del state['teacher.head.fc.bias']
    with pytest.raises(RuntimeError, match='Missing key.*teacher.head.fc.bias'):
        other.load_state_dict(state)
    model.double()
    assert model.teacher.backbone.conv1.weight.dtype == torch.float64
    assert not any(p.requires_grad for p in model.teacher.parameters())
    teacher = {id(p) for p in model.teacher.parameters()}
    assert not teacher & {id(p) for p in model.parameters()}


def test_teacher_stays_plain_batchnorm_under_syncbn_and_eval_mode():
    from mmengine.model import convert_sync_batchnorm
    model = convert_sync_batchnorm(distiller())
    assert type(model.teacher.backbone.bn1) is torch.nn.BatchNorm2d
    assert type(model.student.backbone.bn1) is torch.nn.SyncBatchNorm
    model.train()
    assert model.student.training and not model.teacher.training


def test_init_weights_initialises_a_teacher_without_checkpoint_only():
    model = distiller()
    torch.nn.init.zeros_(model.teacher.head.fc.weight)
    model.init_weights()
    assert model.teacher.head.fc.weight.abs().sum() > 0  # mmpretrain's init ran
    model = distiller()
    model.teacher._is_init = True  # what loading teacher_ckpt sets
    torch.nn.init.zeros_(model.teacher.head.fc.weight)
    model.init_weights()
    assert model.teacher.head.fc.weight.abs().sum() == 0
