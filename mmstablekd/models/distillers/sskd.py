"""SSKD: Stage-by-Stage Knowledge Distillation (Gao et al., "An Embarrassingly Simple Approach
for Knowledge Distillation", 2019/2020).

Not torchdistill's ``SSKD``, which is Xu et al.'s *self-supervised* KD (ECCV 2020), an
unrelated method.
"""
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmstablekd.registry import MODELS
from ..utils import get_submodule
from ..utils.default_boundaries import resolve_boundaries
from ..utils.probe import probe_boundaries
from .base import BaseDistiller, head_loss

Feature = Union[torch.Tensor, Tuple[torch.Tensor, ...]]


class _StopForward(Exception):
    """Raised by a forward hook to end a forward pass early, carrying the module's output."""

    def __init__(self, output: Feature) -> None:
        super().__init__()
        self.output = output


def run_until(classifier: nn.Module, inputs: torch.Tensor, module: nn.Module) -> Feature:
    """Run ``classifier.extract_feat`` only until ``module`` has produced its output.

    Later layers are not computed at all.

    Args:
        classifier (nn.Module): An mmpretrain classifier.
        inputs (Tensor): (N, C, H, W) preprocessed images.
        module (nn.Module): A sub-module of ``classifier`` that ``extract_feat`` calls.

    Returns:
        Tensor | tuple: ``module``'s output, e.g. (N, C', H', W').
    """
    def stop(mod, args, output):
        raise _StopForward(output)

    handle = module.register_forward_hook(stop)
    try:
        classifier.extract_feat(inputs)
    except _StopForward as done:
        return done.output
    finally:
        handle.remove()
    raise RuntimeError(f'{type(module).__name__} was not called by extract_feat()')


class StageAdapter(nn.Module):
    """Map a student stage output onto the teacher's shape for the feature loss.

    A 1x1 convolution (``Linear`` for (N, L, C) tokens) when the channel widths differ, then a
    bilinear resize to the teacher's (H, W) when the spatial sizes differ (as in the SSKD
    paper: "add an additional convolution layer with 1x1 kernel size to student ... resize
    the student's feature map"). Used only for the loss; not part of the exported student.

    Args:
        in_channels (int): Student width.
        out_channels (int): Teacher width.
        dims (int): 4 for (N, C, H, W) maps, 3 for (N, L, C) tokens.
    """

    def __init__(self, in_channels: int, out_channels: int, dims: int) -> None:
        super().__init__()
        if in_channels == out_channels:
            self.proj = nn.Identity()
        elif dims == 4:
            self.proj = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        else:
            self.proj = nn.Linear(in_channels, out_channels)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """(N, C_s, H_s, W_s) -> (N, C_t, H_t, W_t), or (N, L, C_s) -> (N, L, C_t)."""
        out = self.proj(student)
        if out.dim() == 4 and out.shape[-2:] != teacher.shape[-2:]:
            out = F.interpolate(out, size=teacher.shape[-2:], mode='bilinear',
                                align_corners=False)
        return out


@MODELS.register_module()
class SSKD(BaseDistiller):
    """Stage-by-stage feature mimicking, then the task head alone (Gao et al.).

    The student's backbone is cut at ``K`` module paths (``boundaries``) into stages
    ``S_1..S_K``; everything after the last boundary (neck + head) is the task head. Training
    has ``K + 1`` phases, switched by :class:`~mmstablekd.engine.hooks.SSKDStageHook`:

    * **Stage i** (phases 0..K-1): only ``S_i`` (and its adapter) learns, with
      ``stage_loss`` (default: the paper's ``psi(a, b) = ||a - b||_2^2``, a sum over
      the feature, mean over the batch) between the student's and the teacher's outputs at
      boundary ``i``,
      reported as ``loss_stage{i}`` (1-based). ``S_i`` gets the student's *own* features from
      its frozen earlier stages; both networks run only up to boundary ``i``.
    * **Head phase** (phase K): only the modules after the last boundary learn, with the
      student head's own loss (CE, ``loss_cls``); the backbone is frozen and the teacher is
      not run.

    Frozen parts do not change:

    * their parameters get ``requires_grad=False`` (and their ``.grad`` is cleared), so
      no gradient reaches them and SGD/AdamW skip them (no weight decay, no momentum);
    * their modules are kept in **eval mode** even after ``model.train()`` (``train`` is
      overridden, as for the teacher), so BatchNorm uses and keeps its running statistics
      instead of updating them with the current batch, and dropout is off.

    Which module belongs to which phase is found once at build time by running the student on
    a dummy batch and noting, for every module with its own parameters or buffers, how many
    boundaries have already produced output when it is called. A module with weights called
    in two phases (weight sharing across stages) is a build-time error. When student and
    teacher stage outputs differ in width or resolution, a :class:`StageAdapter` (1x1 conv +
    resize) in ``self.adapters`` bridges them; ``adapters.*`` are dropped at export.

    Freezing is applied by :meth:`set_stage` (and on the first :meth:`loss` call), not at
    build time, so a model wrapped by DistributedDataParallel registers every student
    parameter; use ``model_wrapper_cfg=dict(type='MMDistributedDataParallel',
    find_unused_parameters=True)`` in distributed runs.

    Validation runs the pure student; until the head phase its head is untrained.

    Args:
        student (dict): Student classifier config.
        teacher (dict): Teacher classifier config.
        teacher_ckpt (str, optional): Teacher checkpoint.
        boundaries (Sequence[str], optional): Student module paths that end stages 1..K, in
            forward order. Default: the backbone's stages for ResNet-family backbones
            (``backbone.layer1`` ... ``backbone.layer4``).
        teacher_boundaries (Sequence[str], optional): The teacher's paths. Default:
            ``boundaries`` if given, else the teacher backbone's stages.
        stage_loss (dict): Feature loss of a stage. Defaults to
            :class:`~mmstablekd.models.losses.FeatureL2Loss` (the paper's squared L2
            distance, summed over the feature: with an element mean instead, the paper's
            LR of 0.01 is thousands of times too small to learn).
        adapters (bool): Build a :class:`StageAdapter` where shapes differ; otherwise a shape
            mismatch is a build-time error. Defaults to True.
        probe_input_shape (Sequence[int]): (C, H, W) of the build-time dummy input.
            Defaults to (3, 32, 32).
        data_preprocessor (dict, optional): Overrides the student's preprocessor.
        init_cfg (dict, optional): Init config.
        teacher_data_preprocessor (dict, optional): The teacher's own normalisation / resize of
            the student's (mixed) batch; see :class:`BaseDistiller`.
    """

    stage_hook = 'SSKDStageHook'

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 teacher_ckpt: Optional[str] = None,
                 boundaries: Optional[Sequence[str]] = None,
                 teacher_boundaries: Optional[Sequence[str]] = None,
                 stage_loss: dict = dict(type='FeatureL2Loss', loss_weight=1.0),
                 adapters: bool = True,
                 probe_input_shape: Sequence[int] = (3, 32, 32),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 teacher_data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(student, teacher, teacher_ckpt, data_preprocessor, init_cfg,
                         teacher_data_preprocessor=teacher_data_preprocessor)
        boundaries, teacher_boundaries = resolve_boundaries(self.student, self.teacher,
                                                            boundaries, teacher_boundaries)
        self.boundaries = _path_list(boundaries, 'model.boundaries')
        self.teacher_boundaries = _path_list(teacher_boundaries, 'model.teacher_boundaries')
        if len(self.teacher_boundaries) != len(self.boundaries):
            raise ValueError(f'model.teacher_boundaries has {len(self.teacher_boundaries)} '
                             f'entries but model.boundaries has {len(self.boundaries)}')
        self.stage_loss = MODELS.build(stage_loss)
        self._s_modules = [get_submodule(self.student, p, f'model.boundaries[{i}]')
                           for i, p in enumerate(self.boundaries)]
        self._t_modules = [get_submodule(self.teacher, p, f'model.teacher_boundaries[{i}]')
                           for i, p in enumerate(self.teacher_boundaries)]
        s_feats, self._phase_of = _probe_phases(self.student, self._s_modules,
                                                probe_input_shape, 'model.boundaries')
        t_feats, _ = _probe_phases(self.teacher, self._t_modules,
                                   self.teacher_probe_shape(probe_input_shape),
                                   'model.teacher_boundaries', with_head=False)
        self.adapters = nn.ModuleDict()
        self._build_adapters(s_feats, t_feats, adapters)
        self.stage = 0
        self._applied_stage: Optional[int] = None

    # ------------------------------------------------------------------ phases
    @property
    def num_stages(self) -> int:
        """Number of training phases: K backbone stages + the head phase."""
        return len(self.boundaries) + 1

    @property
    def head_phase(self) -> bool:
        """Whether the current phase trains the task head."""
        return self.stage == len(self.boundaries)

    def phase_str(self, stage: Optional[int] = None) -> str:
        """E.g. ``'stage 2/4 (backbone.layer2)'`` or ``'head phase (CE, backbone frozen)'``."""
        stage = self.stage if stage is None else stage
        if stage == len(self.boundaries):
            return 'head phase (CE, backbone frozen)'
        return f'stage {stage + 1}/{len(self.boundaries)} ({self.boundaries[stage]})'

    def set_stage(self, stage: int) -> None:
        """Enter phase ``stage`` (0-based; ``K`` is the head phase) and freeze the rest."""
        if not isinstance(stage, int) or not 0 <= stage < self.num_stages:
            raise ValueError(f'stage must be an int in [0, {self.num_stages - 1}], got {stage!r}')
        self.stage = stage
        self._apply_stage()

    def trainable_modules(self, stage: Optional[int] = None) -> List[nn.Module]:
        """Student modules (with own weights or buffers) that learn in phase ``stage``."""
        stage = self.stage if stage is None else stage
        return [m for m in self.student.modules() if self._phase_of.get(m) == stage]

    def _apply_stage(self) -> None:
        trainable: Set[int] = set()
        for module in self.trainable_modules():
            trainable.update(id(p) for p in module.parameters(recurse=False))
        adapter = self.adapters[str(self.stage)] if str(self.stage) in self.adapters else None
        if adapter is not None:
            trainable.update(id(p) for p in adapter.parameters())
        for param in list(self.student.parameters()) + list(self.adapters.parameters()):
            learn = id(param) in trainable
            param.requires_grad_(learn)
            if not learn:
                param.grad = None
        self._applied_stage = self.stage
        self.train(self.training)

    def train(self, mode: bool = True) -> 'SSKD':
        """Set train mode; frozen student modules (and the teacher) stay in eval mode."""
        super().train(mode)
        phase_of = getattr(self, '_phase_of', None)
        if mode and phase_of is not None:
            for module in self.student.modules():
                if module in phase_of and phase_of[module] != self.stage:
                    # Only the module's own flag: a container's children may be trainable.
                    module.training = False
        return self

    # ------------------------------------------------------------------ loss
    def loss(self, inputs: torch.Tensor, data_samples: List) -> Dict[str, torch.Tensor]:
        """Losses of one batch in the current phase.

        Args:
            inputs (Tensor): (N, C, H, W) preprocessed images.
            data_samples (list[DataSample]): samples with ``gt_label`` (used in the head
                phase only).

        Returns:
            dict: ``{'loss_stage{i}': psi}`` in stage i (1-based), or ``{'loss_cls': ce, ...}``
            (plus what the head reports) in the head phase.
        """
        if self._applied_stage != self.stage:
            self._apply_stage()
        if self.head_phase:
            head_losses, _ = head_loss(self.student, inputs, data_samples)
            losses = {'loss_cls': head_losses.pop('loss')}
            losses.update(head_losses)
            return losses
        idx = self.stage
        with torch.no_grad():
            target = run_until(self.teacher, self.teacher_inputs(inputs), self._t_modules[idx])
        feat = run_until(self.student, inputs, self._s_modules[idx])
        if str(idx) in self.adapters:
            feat = self.adapters[str(idx)](feat, target)
        return {f'loss_stage{idx + 1}': self.stage_loss(feat, target)}

    # ------------------------------------------------------------------ build-time
    def _build_adapters(self, s_feats: List[Feature], t_feats: List[Feature],
                        adapters: bool) -> None:
        for idx, (s, t) in enumerate(zip(s_feats, t_feats)):
            if _shape(s) == _shape(t):
                continue
            where = (f'stage {idx + 1} (student {self.boundaries[idx]!r}, teacher '
                     f'{self.teacher_boundaries[idx]!r})')
            if not (isinstance(s, torch.Tensor) and isinstance(t, torch.Tensor)
                    and s.dim() == t.dim() and s.dim() in (3, 4)):
                raise ValueError(f'{where}: output shapes differ ({_shape(s)} vs {_shape(t)}) '
                                 'and are not both (N, C, H, W) maps or (N, L, C) tokens')
            if s.dim() == 3 and s.shape[1] != t.shape[1]:
                raise ValueError(f'{where}: token counts differ ({s.shape[1]} vs '
                                 f'{t.shape[1]}); choose boundaries with equal resolution')
            if not adapters:
                raise ValueError(f'{where}: student output {tuple(s.shape)} != teacher output '
                                 f'{tuple(t.shape)}. Set model.adapters=True to add a 1x1 '
                                 'conv / resize adapter.')
            ch = 1 if s.dim() == 4 else 2
            self.adapters[str(idx)] = StageAdapter(s.shape[ch], t.shape[ch], s.dim())


def _path_list(paths, field: str) -> List[str]:
    if not isinstance(paths, (list, tuple)) or not paths:
        raise TypeError(f'{field} must be a non-empty list of module paths, got {paths!r}')
    return list(paths)


def _probe_phases(net: nn.Module, boundary_modules: List[nn.Module], shape: Sequence[int],
                  field: str, with_head: bool = True) -> Tuple[List[Feature], Dict]:
    """Run ``net`` once on zeros; return boundary outputs and each module's phase.

    The phase of a module is the number of boundaries that had produced output when it was
    called (modules with their own parameters or buffers, and leaves); a container gets the
    phase that all its called descendants share, if they share one.

    Returns:
        tuple: (output of every boundary module, dict module -> phase index).
    """
    phase_of: Dict[nn.Module, int] = {}
    names = {m: n or '<root>' for n, m in net.named_modules()}

    def enter(module: nn.Module, phase: int) -> None:
        if phase_of.setdefault(module, phase) != phase and _owns_weights(module):
            raise ValueError(
                f'{field}: {names[module]!r} runs in stages {phase_of[module] + 1} and '
                f'{phase + 1}; SSKD cannot freeze weights shared across stages')

    watched = [m for m in net.modules() if _owns_state(m) or not any(True for _ in m.children())]
    outputs = probe_boundaries(net, boundary_modules, shape, field, with_head=with_head,
                               on_call=enter, on_call_modules=watched)
    for module in net.modules():  # containers whose called parts all run in one phase
        phases = {phase_of[m] for m in module.modules() if m in phase_of}
        if module not in phase_of and len(phases) == 1:
            phase_of[module] = phases.pop()
    return outputs, phase_of


def _owns_state(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False)) or \
        any(True for _ in module.buffers(recurse=False))


def _owns_weights(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False))


def _shape(x: Feature):
    if isinstance(x, torch.Tensor):
        return tuple(x.shape)
    return tuple(_shape(v) for v in x)
