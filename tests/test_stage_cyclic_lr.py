"""StageCyclicLR: one triangle per stage, amplitude halving, base 3e-3*lr, peak 10*lr."""
import pytest

from mmstablekd.engine.schedulers import StageCyclicLR
from conftest import staged_schedule, step_schedules as lrs

LR = 0.05
BASE, PEAK = 3e-3 * LR, 10 * LR


def make(epochs=6, epoch_length=10, num_stages=3, **kw):
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
