"""StableKD ablation options (KD + MSE) and the deployment of projectors that stay active in
the last stage, on tiny ResNet_CIFAR pairs."""
import copy
import types

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MMLogger

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.engine.hooks import StudentCheckpointHook
from mmstablekd.registry import MODELS
from mmstablekd.utils.student_export import convert_checkpoint, model_config_path
from test_stablekd_semantics import BOUNDARIES, batch, build, capture, classifier, touched_blocks


# ---------------------------------------------------------------- KD + MSE (Table 4)
def test_kd_mse_sends_no_teacher_features_forward_but_keeps_the_mse():
    model = build(num_recompositions=0, feed_teacher_features=False)
    pure = copy.deepcopy(model.student)  # same weights, no distillation hooks fire on it
    x, samples, _ = batch()
    t_out, s_out, s_in, handles = {}, {}, {}, []
    for i in range(1, 5):
        t_out[i], h1 = capture(model.teacher.backbone.get_submodule(f'layer{i}'))
        s_out[i], h2 = capture(model.student.backbone.get_submodule(f'layer{i}'))
        handles += [h1, h2]
    for i in range(2, 5):
        s_in[i], h = capture(model.student.backbone.get_submodule(f'layer{i}'), 'input')
        handles.append(h)
    head_in, h = capture(model.student.neck, 'input')
    handles.append(h)
    losses = model.loss(x, samples)
    for h in handles:
        h.remove()
    # every student block gets the previous *student* block's output, never the teacher's
    for i in range(2, 5):
        assert s_in[i][0] is s_out[i - 1][0] and s_in[i][0].requires_grad
        assert not torch.equal(s_in[i][0], t_out[i - 1][0])
    assert head_in[0][0] is s_out[4][0]  # the neck gets the backbone's tuple of outputs
    # the student forward equals the pure student's (train mode: same batch statistics)
    assert torch.equal(head_in[0][0], pure.backbone(x)[0])
    # ... while the MSE at every boundary is there, student output vs teacher output
    for i in range(1, 5):
        assert torch.allclose(losses[f'loss_mse_b{i}'], F.mse_loss(s_out[i][0], t_out[i][0]))
    # end to end: the classification loss reaches every block (no decomposition)
    assert touched_blocks(model, losses['loss_cls']) == {1, 2, 3, 4, 5}


def test_feed_teacher_features_must_be_a_bool():
    with pytest.raises(TypeError, match='model.feed_teacher_features must be a bool'):
        build(feed_teacher_features='no')


# ---------------------------------------------------------------- deployed projectors
def hetero(num_recompositions=2, **kw):
    """StableKD-5/n with a student half as wide as its teacher (projectors everywhere)."""
    return build(num_recompositions=num_recompositions, student_width=4, projectors=True, **kw)


def manual_student_logits(model, x):
    """The student's logits with boundary 4's projector applied by hand (hooks bypassed)."""
    s = model.student.backbone
    h = F.relu(s.norm1(s.conv1(x)))
    for i in range(1, 4):
        h = s.get_submodule(f'layer{i}').forward(h)
    raw = s.layer4.forward(h)
    proj = model.projectors['3']
    return model.student.head.fc(proj.from_teacher(proj.to_teacher(raw)).mean((2, 3))), raw


def test_validation_uses_the_projector_of_a_boundary_active_in_the_last_stage():
    model = hetero()
    assert model.partition_str(2) == '{1234}{5}' and model.deploy_boundaries == (3, )
    x, samples, _ = batch()
    model.loss(x, samples)
    model.eval()
    with torch.no_grad():
        expected, raw = manual_student_logits(model, x)
        got = model(x, mode='tensor')
        plain_head = model.student.head.fc(raw.mean((2, 3)))
    assert torch.allclose(got, expected, atol=1e-6)
    assert not torch.allclose(got, plain_head, atol=1e-3)  # the projector really acts
    spec = model.deployed_projectors()
    assert spec == [dict(source='projectors.3', path='backbone.layer4', student_channels=32,
                         teacher_channels=64, dim=4)]


def fake_runner(model, tmp_path, student_cfg):
    cfg = Config(dict(model=dict(type='StableKD', student=student_cfg)))
    return types.SimpleNamespace(model=model, cfg=cfg, epoch=0, iter=1, max_epochs=1,
                                 work_dir=str(tmp_path), logger=MMLogger.get_current_instance())


def assert_same_predictions(model, plain, x, samples):
    model.eval()
    plain.eval()
    with torch.no_grad():
        assert torch.equal(plain(x, mode='tensor'), model(x, mode='tensor'))
        got = plain(x, copy.deepcopy(samples), mode='predict')
        want = model(x, copy.deepcopy(samples), mode='predict')
    for g, w in zip(got, want):
        assert torch.equal(g.pred_score, w.pred_score) and torch.equal(g.pred_label, w.pred_label)


def test_exported_projected_student_predicts_exactly_like_the_distiller(tmp_path):
    model = hetero()
    x, samples, _ = batch()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for stage in range(3):  # train a little in every stage so all weights move
        model.set_stage(stage)
        loss = sum(v for k, v in model.loss(x, samples).items() if k.startswith('loss'))
        opt.zero_grad()
        loss.backward()
        opt.step()
    student_cfg = classifier(18, 4)

    # 1. the StudentCheckpointHook's file + the config written next to it
    path = StudentCheckpointHook().save(fake_runner(model, tmp_path, student_cfg))
    exported = torch.load(path, map_location='cpu', weights_only=True)
    cfg = Config.fromfile(model_config_path(path))
    assert cfg.model.type == 'BoundaryProjectedClassifier'
    assert cfg.model.boundary_projectors[0]['path'] == 'backbone.layer4'
    plain = MODELS.build(cfg.model)
    plain.load_state_dict(exported['state_dict'], strict=True)
    assert sorted(k for k in exported['state_dict'] if not k.startswith(
        ('backbone.', 'neck.', 'head.'))) == [
        'boundary_projectors.0.from_teacher.bias', 'boundary_projectors.0.from_teacher.weight',
        'boundary_projectors.0.to_teacher.bias', 'boundary_projectors.0.to_teacher.weight']
    n_student = sum(p.numel() for p in model.student.parameters())
    n_proj = sum(p.numel() for p in model.projectors['3'].parameters())
    assert sum(p.numel() for p in plain.parameters()) == n_student + n_proj  # cf. Table 6
    assert_same_predictions(model, plain, x, samples)

    # 2. tools/convert_student.py on a distillation checkpoint whose meta the hook filled
    full = dict(meta=dict(epoch=1), state_dict=model.state_dict(), optimizer={})
    StudentCheckpointHook().before_save_checkpoint(
        fake_runner(model, tmp_path, student_cfg), full)
    deploy = full['meta']['student_deploy']
    assert deploy == model.student_deploy()  # the distiller's own recipe, recorded as is
    assert deploy['rename'] == model.deploy_rename() == {'projectors.3.': 'boundary_projectors.0.'}
    src, dst = tmp_path / 'epoch_1.pth', tmp_path / 'out' / 'student.pth'
    torch.save(full, src)
    report = convert_checkpoint(str(src), str(dst))
    assert not any(k.startswith('projectors.3.') for k in report.dropped)
    assert any(k.startswith('projectors.0.') for k in report.dropped)  # idle in the last stage
    plain2 = MODELS.build(Config.fromfile(str(tmp_path / 'out' / 'student.py')).model)
    plain2.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    assert_same_predictions(model, plain2, x, samples)

    # 3. the exported file loads back into a fresh distiller (tools/test.py with the training
    #    config), projectors included
    fresh = hetero()
    fresh.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=False)
    assert torch.equal(fresh.projectors['3'].to_teacher.weight,
                       model.projectors['3'].to_teacher.weight)
    assert_same_predictions(model, fresh, x, samples)


def test_without_an_active_projector_in_the_last_stage_export_stays_the_plain_student(tmp_path):
    model = hetero(num_recompositions=3)  # last stage {12345}: no boundary left
    assert model.deploy_boundaries == () and model.deployed_projectors() == []
    path = StudentCheckpointHook().save(fake_runner(model, tmp_path, classifier(18, 4)))
    exported = torch.load(path, map_location='cpu', weights_only=True)
    assert 'model' not in exported['meta']
    assert not (tmp_path / 'student_epoch_1.py').exists()
    plain = MODELS.build(classifier(18, 4))
    plain.load_state_dict(exported['state_dict'], strict=True)
    x, samples, _ = batch()
    assert_same_predictions(model, plain, x, samples)


def test_kd_mse_never_deploys_projectors():
    model = hetero(num_recompositions=0, feed_teacher_features=False)
    assert model.deploy_boundaries == ()


def test_projected_classifier_config_errors_name_the_field():
    cfg = dict(classifier(18, 4), type='BoundaryProjectedClassifier')
    with pytest.raises(ValueError, match=r'model.boundary_projectors\[0\].path'):
        MODELS.build(dict(cfg, boundary_projectors=[dict(path='backbone.layer9',
                                                         student_channels=32,
                                                         teacher_channels=64)]))
    with pytest.raises(TypeError, match=r'model.boundary_projectors\[0\]'):
        MODELS.build(dict(cfg, boundary_projectors=[dict(path='backbone.layer4', width=3)]))
    assert BOUNDARIES[-1] == 'backbone.layer4'
