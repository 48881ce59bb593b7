"""Issue 20 item 4: a missing teacher checkpoint names the action for its kind of teacher."""
import re
from pathlib import Path

import pytest

from mmstablekd.utils.teacher_ckpt import missing_teacher_message

REPO = Path(__file__).resolve().parents[1]
ZOO = 'https://download.openmmlab.com/mmclassification/v0/resnet/'


def test_our_teacher_configs_name_their_train_command():
    msg = missing_teacher_message('work_dirs/teachers_resnet34_cifar100/epoch_200.pth')
    assert 'python tools/train.py configs/teachers/resnet34_cifar100.py' in msg
    assert 'model.teacher_ckpt=PATH' in msg


def test_quickstart_teacher_names_the_quickstart_tool():
    msg = missing_teacher_message('work_dirs/quickstart_teacher_r34_digits/epoch_15.pth')
    assert 'configs/quickstart/teacher_r34_digits.py' in msg and 'tools/quickstart.py' in msg


def test_mmpretrain_model_zoo_teacher_names_its_url():
    ckpt = 'work_dirs/pretrained/resnet34_8xb32_in1k_20210831-f257d4e6.pth'
    msg = missing_teacher_message(ckpt)
    assert f'wget -O {ckpt} {ZOO}resnet34_8xb32_in1k_20210831-f257d4e6.pth' in msg
    assert 'configs/teachers' not in msg


def test_timm_teacher_names_the_timm_one_liner(tmp_path):
    from mmengine.registry import init_default_scope

    from mmstablekd.models.distillers import VanillaKD
    init_default_scope('mmpretrain')
    ckpt = str(tmp_path / 'pretrained' / 'resnet10t.pth')
    student = dict(type='TimmClassifier', model_name='resnet10t', pretrained=False,
                   num_classes=4)
    with pytest.raises(FileNotFoundError) as err:
        VanillaKD(student=student, teacher=dict(student), teacher_ckpt=ckpt)
    msg = str(err.value)
    assert ("timm.create_model('resnet10t.c3_in1k', pretrained=True).state_dict(), "
            f"'{ckpt}')" in msg), msg
    assert 'configs/teachers' not in msg


@pytest.mark.parametrize('config', sorted(
    str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*.py')
    if '_base_' not in p.parts and "teacher_ckpt='work_dirs/teachers_" in p.read_text()))
def test_shipped_teacher_paths_lead_to_a_shipped_teacher_config(config):
    ckpt = re.search(r"teacher_ckpt='(work_dirs/teachers_[^']+)'",
                     (REPO / config).read_text()).group(1)
    msg = missing_teacher_message(ckpt)
    train = msg.split('python tools/train.py ')[1].split(' ')[0]
    assert (REPO / train).is_file(), msg
