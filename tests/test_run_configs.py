"""Issue 14, case 7: every training config checkpoints every epoch (keeping the last 3) and
enables the run guards; the quickstart API keeps saving only the final checkpoint."""
from pathlib import Path

import pytest
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ['quickstart', 'kd', 'dist', 'sskd', 'stablekd', 'teachers']
# Configs that set or override default_hooks; the others inherit them from one of these.
CONFIGS = sorted(p for f in FOLDERS for p in (REPO / 'configs' / f).glob('*.py')
                 if 'default_hooks' in p.read_text())
GUARDS = {'nonfinite_guard': 'NonFiniteGuardHook', 'work_dir_lock': 'WorkDirLockHook',
          'resume_state': 'ResumeStateHook'}


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: f'{p.parent.name}/{p.name}')
def test_config_checkpoints_every_epoch_and_guards_the_run(config):
    hooks = Config.fromfile(str(config)).default_hooks
    assert hooks.checkpoint.interval == 1 and hooks.checkpoint.max_keep_ckpts == 3
    assert {k: hooks[k]['type'] for k in GUARDS if k in hooks} == GUARDS
    assert hooks.nonfinite_guard.get('enabled', True) is True


def test_quickstart_api_saves_only_the_final_checkpoint(tmp_path):
    from kdbench.methods import config_dir
    from kdbench.quickstart import build_run_cfg
    cfg = build_run_cfg(str(config_dir() / 'kd_r18_r34_digits.py'), 0, 2, str(tmp_path),
                        str(tmp_path / 'data'))
    assert cfg.default_hooks.checkpoint == dict(type='CheckpointHook', interval=-1,
                                                save_last=True)
    assert cfg.default_hooks.nonfinite_guard.type == 'NonFiniteGuardHook'
