"""The teacher's own view of the student's batch: re-normalised and, if needed, resized."""
from numbers import Number
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

FIELD = 'model.teacher_data_preprocessor'
_KEYS = ('mean', 'std', 'size', 'interpolation', 'antialias')
_MODES = ('nearest', 'bilinear', 'bicubic', 'area')


class TeacherPreprocessor(nn.Module):
    r"""Map the student's preprocessed (normalised, already mixed) batch to the teacher's input.

    The distiller's data preprocessor (the student's) normalises and batch-augments once;
    this module then undoes the student's normalisation and applies the teacher's:

    .. math::
        x_t = \mathrm{resize}\Big(\frac{x_s \cdot \sigma_s + \mu_s - \mu_t}{\sigma_t}\Big)

    per channel. Mixup / CutMix are affine combinations of images, which commute with this
    per-channel affine map, so the teacher sees exactly the student's mixed images in its
    own normalisation. Resizing (``F.interpolate``) happens only when ``size`` is given.
    With the student's own statistics and no ``size`` it returns its input unchanged.

    Channels are in the order the student's preprocessor leaves them (after its ``to_rgb``);
    padding added by the student's preprocessor is mapped like any other pixel.

    Args:
        student_mean (Sequence[float], optional): Per-channel mean the student's preprocessor
            subtracts (``None``: it does not normalise, i.e. mean 0 and std 1).
        student_std (Sequence[float], optional): Per-channel std of the student.
        mean (Sequence[float], optional): The teacher's mean, in pixel units (0-255 for
            images). Defaults to the student's.
        std (Sequence[float], optional): The teacher's std. Required with ``mean``.
        size (int | tuple[int, int], optional): The teacher's input (H, W); an int is a
            square. ``None`` keeps the student's resolution.
        interpolation (str): ``F.interpolate`` mode: nearest, bilinear, bicubic or area.
            Defaults to ``'bilinear'``.
        antialias (bool): Anti-alias when downsizing (bilinear/bicubic). Defaults to True.
    """

    def __init__(self,
                 student_mean: Optional[Sequence[float]],
                 student_std: Optional[Sequence[float]],
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 size: Union[int, Sequence[int], None] = None,
                 interpolation: str = 'bilinear',
                 antialias: bool = True) -> None:
        super().__init__()
        s_mean = torch.as_tensor(student_mean if student_mean is not None else [0.0],
                                 dtype=torch.float64).flatten()
        s_std = torch.as_tensor(student_std if student_std is not None else [1.0],
                                dtype=torch.float64).flatten()
        if (mean is None) != (std is None):
            raise ValueError(f'{FIELD}: give both mean and std (the teacher\'s per-channel '
                             f'statistics) or neither, got mean={mean!r}, std={std!r}')
        t_mean = s_mean if mean is None else _channels(mean, 'mean', len(s_mean))
        t_std = s_std if std is None else _channels(std, 'std', len(s_std))
        if bool((t_std <= 0).any()):
            raise ValueError(f'{FIELD}.std must be > 0 in every channel, got {std!r}')
        self.size = _size(size)
        if interpolation not in _MODES:
            raise ValueError(f'{FIELD}.interpolation must be one of {_MODES}, '
                             f'got {interpolation!r}')
        if not isinstance(antialias, bool):
            raise TypeError(f'{FIELD}.antialias must be a bool, got {antialias!r}')
        self.interpolation = interpolation
        self.antialias = antialias and interpolation in ('bilinear', 'bicubic')
        # x_t = x_s * scale + shift, computed in float64 and stored as float32.
        scale = s_std / t_std
        shift = (s_mean - t_mean) / t_std
        # Same statistics at the preprocessor's float32 precision: nothing to do.
        self.renormalise = not (torch.equal(s_mean.float(), t_mean.float())
                                and torch.equal(s_std.float(), t_std.float()))
        self.register_buffer('scale', scale.float().view(1, -1, 1, 1), persistent=False)
        self.register_buffer('shift', shift.float().view(1, -1, 1, 1), persistent=False)

    @property
    def is_identity(self) -> bool:
        """Whether the teacher sees the student's batch unchanged."""
        return not self.renormalise and self.size is None

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) student inputs -> (N, C, H', W') teacher inputs."""
        if self.renormalise:
            inputs = torch.addcmul(self.shift.to(inputs.dtype), inputs,
                                   self.scale.to(inputs.dtype))
        if self.size is not None and tuple(inputs.shape[-2:]) != self.size:
            kw = {} if self.interpolation in ('nearest', 'area') else dict(
                align_corners=False, antialias=self.antialias)
            inputs = F.interpolate(inputs, size=self.size, mode=self.interpolation, **kw)
        return inputs

    def extra_repr(self) -> str:
        return f'size={self.size}, interpolation={self.interpolation!r}'


def build_teacher_preprocessor(cfg: Optional[dict], student_preprocessor: nn.Module
                               ) -> Optional[TeacherPreprocessor]:
    """Build the teacher's preprocessing from ``cfg`` and the built student preprocessor.

    Args:
        cfg (dict, optional): ``mean``, ``std``, ``size``, ``interpolation``, ``antialias``
            (see :class:`TeacherPreprocessor`). ``None``: the teacher shares the student's
            batch as is.
        student_preprocessor (nn.Module): The distiller's (student's) data preprocessor, an
            mmpretrain ``ClsDataPreprocessor`` or any module with the same ``mean`` / ``std``
            buffers and ``_enable_normalize`` flag.

    Returns:
        TeacherPreprocessor | None: ``None`` when ``cfg`` is ``None``.
    """
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise TypeError(f'{FIELD} must be a dict with keys {_KEYS}, got {cfg!r}')
    unknown = sorted(set(cfg) - set(_KEYS))
    if unknown:
        raise ValueError(f'{FIELD}: unknown keys {unknown}; expected some of {_KEYS} (it is '
                         'applied to the student\'s preprocessed batch, not built from the '
                         'registry, so it has no "type")')
    if not hasattr(student_preprocessor, '_enable_normalize'):
        raise TypeError(f'{FIELD} needs a data preprocessor that exposes its normalisation '
                        '(mmpretrain ClsDataPreprocessor: mean, std); the distiller\'s is '
                        f'{type(student_preprocessor).__name__}')
    normalises = bool(student_preprocessor._enable_normalize)
    s_mean = student_preprocessor.mean.flatten().tolist() if normalises else None
    s_std = student_preprocessor.std.flatten().tolist() if normalises else None
    return TeacherPreprocessor(s_mean, s_std, **cfg)


def ignored_teacher_statistics(teacher_cfg, student_preprocessor: nn.Module) -> Optional[str]:
    """A warning when the teacher's own config asks for other statistics than the student's.

    A classifier config's ``data_preprocessor`` is not run on the teacher inside a distiller
    (the distiller preprocesses once); without ``teacher_data_preprocessor`` such a teacher
    silently sees the student's normalisation.

    Returns:
        str | None: the warning, or ``None`` if there is nothing to warn about.
    """
    pre = teacher_cfg.get('data_preprocessor') if isinstance(teacher_cfg, dict) else None
    if not isinstance(pre, dict) or pre.get('mean') is None:
        return None
    student = [getattr(student_preprocessor, k, None) for k in ('mean', 'std')]
    if getattr(student_preprocessor, '_enable_normalize', False) and all(
            torch.allclose(t.flatten().double(), torch.as_tensor(pre[k], dtype=torch.float64))
            for t, k in zip(student, ('mean', 'std'))
            if pre.get(k) is not None and t.numel() == len(pre[k])):
        return None
    return (f'model.teacher.data_preprocessor (mean={list(pre["mean"])}, '
            f'std={pre.get("std")}) is not applied inside a distiller: the teacher sees the '
            'student\'s normalisation. Set model.teacher_data_preprocessor=dict(mean=..., '
            'std=...) to give the teacher its own.')


def _channels(values, name: str, channels: int) -> torch.Tensor:
    if isinstance(values, Number) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, (list, tuple)) or not values or \
            not all(isinstance(v, Number) and not isinstance(v, bool) for v in values):
        raise TypeError(f'{FIELD}.{name} must be a list of numbers (one per channel), '
                        f'got {values!r}')
    if channels > 1 and len(values) not in (1, channels):
        raise ValueError(f'{FIELD}.{name} has {len(values)} values but the student\'s '
                         f'preprocessor normalises {channels} channels')
    return torch.tensor([float(v) for v in values], dtype=torch.float64)


def _size(size) -> Optional[Tuple[int, int]]:
    if size is None:
        return None
    pair = (size, size) if isinstance(size, int) and not isinstance(size, bool) else size
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or \
            not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in pair):
        raise ValueError(f'{FIELD}.size must be a positive int or (H, W) pair of positive '
                         f'ints, got {size!r}')
    return tuple(pair)
