"""StageCyclicMomentum: PyTorch CyclicLR's momentum cycle (0.9 <-> 0.8, inverse to the LR) per
StableKD stage, amplitude halving, exact after a resume."""
import pytest

from conftest import staged_schedule, step_schedules, toy_optimizer
from mmstablekd.engine.schedulers import StageCyclicLR, StageCyclicMomentum

LR, M_BASE, M_MAX = 0.05, 0.8, 0.9


def make(epochs=6, epoch_length=10, num_stages=3, optimizer='sgd', **kw):
    opt, lr = staged_schedule(StageCyclicLR, LR, epochs, epoch_length, num_stages,
                              opt=toy_optimizer(LR, optimizer, momentum=0.9),
                              base_ratio=3e-3, peak_ratio=10.0)
    _, mom = staged_schedule(StageCyclicMomentum, LR, epochs, epoch_length, num_stages,
                             opt=opt, **kw)
    return opt, lr, mom


def run(opt, scheds, n):
    return step_schedules(opt, scheds, n, keys=('lr', 'momentum'))


def test_momentum_over_the_stages_is_inverse_to_the_lr():
    opt, lr, mom = make()  # 3 stages of 20 iterations
    lrs, moms = run(opt, [lr, mom], 60)
    expected = {
        0: M_MAX,                           # stage start: LR at its base, momentum at max
        5: M_MAX - (M_MAX - M_BASE) * 0.5,  # a quarter in: half-way down
        10: M_BASE,                         # mid-stage: LR peak, momentum lowest
        15: M_MAX - (M_MAX - M_BASE) * 0.5,
        20: M_MAX,                          # stage 1 restarts at max
        30: M_MAX - (M_MAX - M_BASE) / 2,   # amplitude halved (triangular2)
        50: M_MAX - (M_MAX - M_BASE) / 4,   # stage 2: quartered
        59: M_MAX - (M_MAX - M_BASE) / 4 * 0.1,
    }
    for it, value in expected.items():
        assert moms[it] == pytest.approx(value, abs=1e-12), it
    assert min(moms) == pytest.approx(M_BASE) and max(moms) == pytest.approx(M_MAX)
    # every iteration: the momentum is the LR's triangle mirrored
    peak, base = 10 * LR, 3e-3 * LR
    for it in range(60):
        height_lr = (lrs[it] - base) / (peak - base)
        height_m = (M_MAX - moms[it]) / (M_MAX - M_BASE)
        assert height_lr == pytest.approx(height_m, abs=1e-9), it


def test_resume_gives_the_same_momentum():
    opt, lr, mom = make()
    run(opt, [lr, mom], 27)
    state = mom.state_dict()
    opt2, lr2, mom2 = make()
    opt2.param_groups[0]['initial_momentum'] = 0.9
    mom2.load_state_dict(state)
    mom2.step()  # what the ParamSchedulerHook does after the resumed iteration
    opt.step()
    mom.step()
    assert mom2.last_step == mom.last_step == 28
    assert opt2.param_groups[0]['momentum'] == opt.param_groups[0]['momentum']
    assert opt.param_groups[0]['momentum'] == pytest.approx(
        M_MAX - (M_MAX - M_BASE) / 2 * 2 * (8 / 20))  # stage 1, u = 8/20


def test_adam_beta0_is_scheduled():
    opt, lr, mom = make(optimizer='adamw')
    run(opt, [lr, mom], 11)
    assert opt.param_groups[0]['betas'] == (pytest.approx(M_MAX - (M_MAX - M_BASE) * 0.9),
                                            0.999)


def test_bad_config():
    with pytest.raises(ValueError, match='base_momentum <= max_momentum'):
        make(base_momentum=0.95, max_momentum=0.9)
    with pytest.raises(ValueError, match='num_stages'):
        make(num_stages=0)


def test_logs_once_what_replaces_the_optimizer_momentum():
    import logging

    from test_stage_cyclic_lr import logged
    mine = logged(lambda: (make(), make(max_momentum=0.95)), needle='StageCyclicMomentum')
    assert len(mine) == 2 and "replacing the optimizer's momentum 0.9" in mine[0][1]
    assert mine[0][0] == logging.INFO and mine[1][0] == logging.WARNING  # 0.95 > 0.9
