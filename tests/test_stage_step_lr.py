"""StageStepLR: SSKD's LR 0.01 with x0.1 steps at 30/60/90 % of every stage, restarted."""
import pytest

from mmstablekd.engine.schedulers import StageStepLR
from conftest import staged_schedule, step_schedules as lrs

LR = 0.01


def make(epochs=10, epoch_length=10, num_stages=5, **kw):
    return staged_schedule(StageStepLR, LR, epochs, epoch_length, num_stages, **kw)


def expected_lr(it, stage_len):
    """The paper's rule written out: restart at each stage start, x0.1 at 30/60/90 %."""
    pos = it % stage_len
    return LR * 0.1**sum(pos >= round(f * stage_len) for f in (0.3, 0.6, 0.9))


def test_lr_restarts_and_steps_in_every_stage():
    opt, sched = make()  # 5 stages x 2 epochs x 10 iterations = 20 iterations per stage
    assert sched.stage_lengths == [20] * 5
    got = lrs(opt, sched, 100)
    for it, value in enumerate(got):
        assert value == pytest.approx(expected_lr(it, 20), rel=1e-9), it
    assert [got[i] for i in (0, 5, 6, 12, 18, 19, 20)] == pytest.approx(
        [1e-2, 1e-2, 1e-3, 1e-4, 1e-5, 1e-5, 1e-2])


def test_stages_follow_max_epochs():
    opt, sched = make(epochs=60, epoch_length=1)
    assert sched.stage_epochs == [12] * 5
    opt, sched = make(epochs=6, epoch_length=45)  # the quickstart: 1, 1, 1, 1, 2 epochs
    assert sched.stage_epochs == [1, 1, 1, 1, 2]
    got = lrs(opt, sched, 270)
    assert got[45] == got[180] == pytest.approx(LR)  # stage 2 and head phase restart
    assert got[180 + 27] == pytest.approx(LR / 10)  # 30 % of the 90-iteration head phase
    opt, sched = make(epochs=6, epoch_length=1, stage_epochs=[2, 1, 1, 1, 1])
    assert sched.stage_lengths == [2, 1, 1, 1, 1]


def test_stage_factors_and_per_stage_milestones():
    opt, sched = make(epochs=5, epoch_length=10, stage_factors=[0.25, 1, 1, 1, 10],
                      milestones=[[], [0.5], [], [], [0.3, 0.6, 0.9]])
    got = lrs(opt, sched, 50)
    assert got[:10] == pytest.approx([LR / 4] * 10)  # constant, a quarter
    assert got[10:20] == pytest.approx([LR] * 5 + [LR / 10] * 5)
    assert got[20:40] == pytest.approx([LR] * 20)
    assert got[40:] == pytest.approx([10 * expected_lr(i, 10) for i in range(10)])


def test_one_step_stages_start_at_full_lr():
    opt, sched = make(epochs=5, epoch_length=1)
    assert lrs(opt, sched, 5) == pytest.approx([LR] * 5)


def test_resume_gives_same_lr():
    opt, sched = make()
    lrs(opt, sched, 37)
    state = sched.state_dict()
    opt2, sched2 = make()
    sched2.load_state_dict(state)
    opt2.param_groups[0]['lr'] = opt.param_groups[0]['lr']
    assert lrs(opt2, sched2, 30) == pytest.approx(lrs(opt, sched, 30))


@pytest.mark.parametrize('kw,match', [
    (dict(num_stages=0), 'num_stages'),
    (dict(milestones=(0.6, 0.3)), 'milestones'),
    (dict(milestones=(0.0, 0.5)), 'milestones'),
    (dict(gamma=0.0), 'gamma'),
    (dict(milestones=[[0.3]] * 4), '4 per-stage lists for 5 stages'),
    (dict(milestones=[[0.3], [], [], [], [1.5]]), 'milestones'),
    (dict(stage_factors=[1, 1, 1, 1]), 'stage_factors must be 5 numbers > 0'),
    (dict(stage_factors=[1, 1, 0, 1, 1]), 'stage_factors'),
    (dict(stage_epochs=[1, 1]), 'stage_epochs'),
    (dict(epochs=3), 'max_epochs'),
])
def test_bad_args(kw, match):
    with pytest.raises(ValueError, match=match):
        make(**kw)
