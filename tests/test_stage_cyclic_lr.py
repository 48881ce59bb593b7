"""StageCyclicLR: one triangle per stage, amplitude halving; the paper's range (base 3e-3*lr,
peak 10*lr) when stated, the optimizer's lr as the peak by default."""
import logging

import pytest
import torch
from mmengine.logging import MMLogger

from mmstablekd.engine.schedulers import StageCyclicLR
from conftest import staged_schedule, step_schedules as lrs

LR = 0.05
BASE, PEAK = 3e-3 * LR, 10 * LR


def make(epochs=6, epoch_length=10, num_stages=3, **kw):
    kw.setdefault('base_ratio', 3e-3)  # the paper's range, as the shipped configs state it
    kw.setdefault('peak_ratio', 10.0)
    return staged_schedule(StageCyclicLR, LR, epochs, epoch_length, num_stages, **kw)


def test_lr_at_chosen_iterations():
    opt, sched = make()  # 6 epochs x 10 iters, 3 stages of 2 epochs = 20 iterations each
    got = lrs(opt, sched, 60)
    expected = {
        0: BASE,                              # stage 0 starts at base
        5: BASE + (PEAK - BASE) * 0.5,        # a quarter in: half-way up
        10: PEAK,                             # middle of stage 0: peak
        15: BASE + (PEAK - BASE) * 0.5,
        20: BASE,                             # stage 1 restarts at base
        30: BASE + (PEAK - BASE) / 2,         # halved amplitude
        40: BASE,
        50: BASE + (PEAK - BASE) / 4,         # stage 2: quartered amplitude
        59: BASE + (PEAK - BASE) / 4 * 0.1,   # 1 iteration before the end
    }
    for it, value in expected.items():
        assert got[it] == pytest.approx(value, rel=1e-9), it
    assert max(got) == pytest.approx(0.5)


def test_stages_rescale_with_max_epochs():
    opt, sched = make(epochs=3, epoch_length=4)  # 3 stages of 1 epoch = 4 iterations
    assert sched.stage_lengths == [4, 4, 4]
    got = lrs(opt, sched, 12)
    assert got[2] == pytest.approx(PEAK) and got[6] == pytest.approx(BASE + (PEAK - BASE) / 2)
    opt, sched = make(epochs=20, epoch_length=1)
    assert sched.stage_epochs == [6, 6, 8]


def test_resume_gives_same_lr():
    opt, sched = make()
    lrs(opt, sched, 27)
    state = sched.state_dict()
    opt2, sched2 = make()
    opt2.param_groups[0]['initial_lr'] = LR
    sched2.load_state_dict(state)
    sched2.step()  # what ParamSchedulerHook does after the resumed iteration
    opt.step()
    sched.step()
    assert opt2.param_groups[0]['lr'] == pytest.approx(opt.param_groups[0]['lr'])


def test_bad_config():
    with pytest.raises(ValueError, match='num_stages'):
        make(num_stages=0)
    with pytest.raises(ValueError, match='smaller than the number of training stages'):
        make(epochs=2, num_stages=3)
    with pytest.raises(ValueError, match='base_ratio <= peak_ratio'):
        make(base_ratio=2.0, peak_ratio=1.0)


def logged(fn, needle: str = 'StageCyclicLR'):
    """Run ``fn``; the (level, message) pairs naming ``needle`` that MMLogger logged."""
    seen = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: seen.append((record.levelno, record.getMessage()))
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        fn()
    finally:
        logger.removeHandler(handler)
    return [item for item in seen if needle in item[1]]


def test_default_peaks_at_the_optimizer_lr_and_says_so():
    """Drop-in: without explicit ratios the LR never exceeds the optimizer's lr."""
    result = {}
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    records = logged(lambda: result.update(sched=StageCyclicLR.build_iter_from_epoch(
        opt, num_stages=3, begin=0, end=6, by_epoch=True, epoch_length=10)))
    got = lrs(opt, result['sched'], 60)
    assert max(got) == pytest.approx(LR) and got[0] == pytest.approx(3e-4 * LR)
    assert len(records) == 1 and records[0][0] == logging.INFO
    assert f'peak {LR:.4g}' in records[0][1] and 'peak_ratio=1 ' in records[0][1]


def test_peak_above_the_optimizer_lr_is_a_warning_logged_once():
    records = logged(lambda: lrs(*make(), 60))
    assert len(records) == 1 and records[0][0] == logging.WARNING
    assert f'peak {PEAK:.4g}' in records[0][1] and 'peak_ratio=10' in records[0][1]
