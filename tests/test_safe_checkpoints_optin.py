"""Issue 20.1: ``custom_imports=[..., 'mmstablekd.safe_checkpoints']`` lets mmpretrain's OWN
``tools/train.py --resume`` and ``tools/test.py`` read a full mmstablekd checkpoint under
torch >= 2.6 (weights-only loading), with the allow-list of mmstablekd's own loader; without
the line they fail. Importing :mod:`mmstablekd` alone still changes no global
(``tests/test_checkpoint_safety.py::test_import_changes_no_global``)."""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import mmengine
import mmpretrain
import pytest
import torch
from mmengine.utils import digit_version
from conftest import DATA_OVERRIDE, REPO, load_tool

from mmstablekd.apis.runner import build_train_cfg, run_train

MIM_TOOLS = Path(mmpretrain.__file__).parent / '.mim' / 'tools'
TINY = '''
model = dict(backbone=dict(stem_channels=4, base_channels=4), head=dict(num_classes=4,
             in_channels=32))
train_cfg = dict(max_epochs={epochs})
'''
OPT_IN = ("custom_imports = dict(imports=['mmstablekd', 'mmstablekd.safe_checkpoints'], "
          "allow_failed_imports=False)\n")

# mmengine 0.10.x (the pinned 0.10.7) calls torch.load with torch's default weights_only, True
# since torch 2.6; later mmengine passes weights_only=False itself, and nothing is refused.
REFUSES = digit_version(mmengine.__version__) < digit_version('0.11.0') and \
    digit_version(torch.__version__) >= digit_version('2.6.0')

pytestmark = pytest.mark.skipif(not (MIM_TOOLS / 'train.py').is_file(),
                                reason="mmpretrain's tools are not installed with it")


def _config(tmp_path: Path, tiny_data_root, name: str, epochs: int, opt_in: bool) -> str:
    path = tmp_path / name
    path.write_text(DATA_OVERRIDE.format(base=str(REPO / 'configs/teachers/resnet34_cifar100.py'),
                                         root=str(tiny_data_root), batch_size=8)
                    + TINY.format(epochs=epochs) + (OPT_IN if opt_in else ''))
    return str(path)


def _mim(tool: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if 'WEIGHTS_ONLY' not in k}
    env.update(PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, str(MIM_TOOLS / f'{tool}.py'), *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)


def test_mmpretrain_tools_read_our_checkpoints_with_the_opt_in(tiny_data_root, tmp_path):
    first = _config(tmp_path, tiny_data_root, 'one.py', 1, opt_in=False)
    args = argparse.Namespace(**{**vars(load_tool('train').parse_args([first])),
                                 'work_dir': str(tmp_path / 'a')})
    run_train(build_train_cfg(args))
    ckpt = str(tmp_path / 'a' / 'epoch_1.pth')

    plain = _config(tmp_path, tiny_data_root, 'plain.py', 2, opt_in=False)
    opted = _config(tmp_path, tiny_data_root, 'opted.py', 2, opt_in=True)

    if REFUSES:  # without the line, mmpretrain's own tools fail on our checkpoint
        refused = _mim('train', plain, '--work-dir', str(tmp_path / 'b'), '--resume', ckpt)
        assert refused.returncode != 0
        assert 'Weights only load failed' in refused.stdout + refused.stderr
    resumed = _mim('train', opted, '--work-dir', str(tmp_path / 'c'), '--resume', ckpt)
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-3000:]
    assert (tmp_path / 'c' / 'epoch_2.pth').is_file()
    assert not (tmp_path / 'c' / 'epoch_1.pth').exists()  # resumed, not restarted
    last = str(tmp_path / 'c' / 'epoch_2.pth')

    if REFUSES:
        refused = _mim('test', plain, last, '--work-dir', str(tmp_path / 't'))
        assert refused.returncode != 0
        assert 'Weights only load failed' in refused.stdout + refused.stderr
    tested = _mim('test', opted, last, '--work-dir', str(tmp_path / 't'))
    assert tested.returncode == 0, (tested.stdout + tested.stderr)[-3000:]
    assert 'accuracy/top1' in tested.stdout + tested.stderr
