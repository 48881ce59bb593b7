"""The one table of the methods that the quickstart and the benchmark run.

Adding a method to the quickstart is one :class:`Method` row: its name, its digits config
under ``configs/quickstart/``, the smallest epoch budget it can run (its number of training
stages; the quickstart refuses smaller budgets before training anything), a plot colour and
the benchmark parts that include it. ``tests/test_quickstart.py`` checks every row's minimum
against the number of stages of the model its config builds.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from mmstablekd.utils.mim import mim_dir  # configs of the installed package or the checkout

#: Parts a row can belong to: the quickstart (and the convergence benchmark), the step-timing
#: benchmark at digits size, and the CRD-suite pair (ResNet-56 -> ResNet-20) on the digits.
QUICKSTART, TIMING, CRD = 'quickstart', 'timing', 'crd'


@dataclass(frozen=True)
class Method:
    """One row of the method table.

    Attributes:
        name (str): Name in tables, plots and ``--methods`` (e.g. ``'StableKD-5/2'``).
        config (str): Digits config under ``configs/quickstart/``.
        min_epochs (int): Smallest ``train_cfg.max_epochs`` the config can train (one epoch
            per training stage or phase).
        colour (str): Matplotlib colour of the method in the plots.
        parts (tuple[str]): Which of ``QUICKSTART``, ``TIMING``, ``CRD`` run it.
        paper_config (str, optional): The CIFAR-100 config (under ``configs/``) timed at paper
            size; None: not timed there.
    """
    name: str
    config: str
    min_epochs: int
    colour: str
    parts: Tuple[str, ...] = (QUICKSTART, TIMING)
    paper_config: Optional[str] = None


# In table order; the first TIMING row (KD) is the reference of the timing ratios.
METHODS: List[Method] = [
    Method('Student (scratch)', 'student_r18_digits.py', 1, 'C0', (QUICKSTART, )),
    Method('KD', 'kd_r18_r34_digits.py', 1, 'C1', paper_config='kd/resnet18_r34_cifar100.py'),
    Method('StableKD-1/0', 'stablekd_1-0_r18_r34_digits.py', 1, 'C6', (TIMING, ),
           paper_config='stablekd/resnet18_r34_cifar100_1-0.py'),
    Method('DIST', 'dist_r18_r34_digits.py', 1, 'C2',
           paper_config='dist/resnet18_r34_cifar100.py'),
    Method('SSKD', 'sskd_r18_r34_digits.py', 5, 'C3',
           paper_config='sskd/resnet18_r34_cifar100.py'),
    Method('StableKD-5/0', 'stablekd_5-0_r18_r34_digits.py', 1, 'C4',
           paper_config='stablekd/resnet18_r34_cifar100_5-0.py'),
    Method('StableKD-5/2', 'stablekd_5-2_r18_r34_digits.py', 3, 'C5',
           paper_config='stablekd/resnet18_r34_cifar100.py'),
    Method('DKD', 'dkd_r18_r34_digits.py', 1, 'C9', (QUICKSTART, )),
    # The CRD-suite pair ResNet-56 -> ResNet-20 (configs/{kd,dist,sskd,stablekd}/
    # resnet20_r56_cifar100.py) on the digits.
    Method('Student (scratch)', 'crd_student_r20_digits.py', 1, 'C0', (CRD, )),
    Method('KD', 'crd_kd_r20_r56_digits.py', 1, 'C1', (CRD, )),
    Method('DIST', 'crd_dist_r20_r56_digits.py', 1, 'C2', (CRD, )),
    Method('SSKD', 'crd_sskd_r20_r56_digits.py', 4, 'C3', (CRD, )),
    Method('StableKD-5/2', 'crd_stablekd_r20_r56_digits.py', 3, 'C5', (CRD, )),
]

#: The teacher every method of a part distils from: (name, config under configs/quickstart/).
TEACHERS: Dict[str, Tuple[str, str]] = {
    QUICKSTART: ('ResNet-34 teacher', 'teacher_r34_digits.py'),
    TIMING: ('ResNet-34 teacher', 'teacher_r34_digits.py'),
    CRD: ('ResNet-56 teacher', 'crd_teacher_r56_digits.py'),
}


def config_dir():
    """``configs/quickstart`` of the imported mmstablekd (checkout or installed wheel)."""
    return mim_dir('configs') / 'quickstart'


def rows(part: str = QUICKSTART) -> List[Method]:
    """The rows of ``part``, in table order."""
    return [m for m in METHODS if part in m.parts]


def select(names: Optional[Sequence[str]] = None, part: str = QUICKSTART) -> List[Method]:
    """The rows of ``part`` named in ``names`` (all of them by default), in the given order.

    Raises:
        ValueError: an unknown name, or a row whose config is missing.
    """
    known = {m.name: m for m in rows(part)}
    names = list(names) if names else list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f'unknown method(s) {unknown}; choose from {list(known)}')
    for n in names:
        if not (config_dir() / known[n].config).is_file():
            raise ValueError(f'method {n!r}: config {config_dir() / known[n].config} does not '
                             'exist')
    return [known[n] for n in names]


def colours(part: str = QUICKSTART) -> Dict[str, str]:
    """Method name -> plot colour."""
    return {m.name: m.colour for m in rows(part)}
