"""IBOEHook(every_iter=True): the step distance of every iteration and its cumulative sum
(paper Fig. 1c), exact at every logged step although only every 2nd iteration is logged."""
import json
import math

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmstablekd.engine.hooks import IBOEHook
from test_iboe_hook import TINY, _HeadRecorder

EVERY_ITER = TINY.replace('logger=dict(interval=1)', 'logger=dict(interval=2)').replace(
    'max_epochs=3', 'max_epochs=2') + '''
custom_hooks = [dict(type='IBOEHook', module_paths=['student.head'], every_iter=True),
                dict(type='_HeadRecorder')]
'''


def test_every_iteration_is_measured_and_the_cumulative_sum_is_logged(data_override, tmp_path):
    cfg = Config.fromfile(data_override('configs/stablekd/resnet18_r34_cifar100_1-0.py',
                                        extra=EVERY_ITER))
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    recorder = next(h for h in runner.hooks if isinstance(h, _HeadRecorder))
    iboe = next(h for h in runner.hooks if isinstance(h, IBOEHook))
    snaps = recorder.snapshots
    expected = [math.sqrt(sum(float((a - b).pow(2).sum()) for a, b in zip(snaps[t], snaps[t - 1])))
                for t in range(1, len(snaps))]
    assert len(expected) == 8  # 4 iterations x 2 epochs
    assert iboe.history['student.head'] == pytest.approx(expected, rel=1e-5)
    saved = json.loads((tmp_path / 'work' / 'iboe_param_dist.json').read_text())
    assert saved['student.head'] == pytest.approx(expected, rel=1e-5)

    lines = [json.loads(s) for f in (tmp_path / 'work').glob('*/vis_data/scalars.json')
             for s in f.read_text().splitlines()]
    logged = {r['step']: r for r in lines if 'iboe/cum_param_dist/student.head' in r}
    assert sorted(logged) == [2, 4, 6, 8]  # the logger's interval, not every step
    for step, r in logged.items():
        assert r['iboe/cum_param_dist/student.head'] == pytest.approx(sum(expected[:step]),
                                                                      rel=1e-5)
        assert r['iboe/param_dist/student.head'] == pytest.approx(expected[step - 1], rel=1e-5)


def test_every_iter_must_be_a_bool():
    with pytest.raises(TypeError, match='IBOEHook.every_iter must be a bool'):
        IBOEHook(every_iter=1)
