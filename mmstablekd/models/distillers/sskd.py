"""SSKD: Stage-by-Stage Knowledge Distillation (Gao et al., "An Embarrassingly Simple Approach
for Knowledge Distillation", 2019/2020).

Not torchdistill's ``SSKD``, which is Xu et al.'s *self-supervised* KD (ECCV 2020), an
unrelated method.
"""
from typing import Dict, List, Optional, Sequence, Set

import torch
import torch.nn as nn

from mmstablekd.registry import MODELS
from ..utils.boundary_projector import StageAdapter
from ..utils.features import Feature, feature_shape, tensor_leaves
from .base import head_loss
from .blockwise import BlockwiseDistiller


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


@MODELS.register_module()
class SSKD(BlockwiseDistiller):
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
            forward order. Default: the backbone's stages (``backbone.layer1`` ...
            ``backbone.layer4`` for ResNet; see ``models/utils/default_boundaries.py``). Every
            boundary must be a cut (checked at build time).
        teacher_boundaries (Sequence[str], optional): The teacher's paths. Default:
            ``boundaries`` if given, else the teacher backbone's stages.
        stage_loss (dict): Feature loss of a stage. Defaults to
            :class:`~mmstablekd.models.losses.FeatureL2Loss` (the paper's squared L2
            distance, summed over the feature: with an element mean instead, the paper's
            LR of 0.01 is thousands of times too small to learn).
        adapters (bool): Build a :class:`StageAdapter` where shapes differ; otherwise a shape
            mismatch is a build-time error. Defaults to True.
        probe_input_shape (Sequence[int], optional): (C, H, W) of the build-time dummy input.
            Default: the backbone's ``img_size`` if it has one, else (3, 32, 32), else
            (3, 224, 224).
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
                 probe_input_shape: Optional[Sequence[int]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 teacher_data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(student, teacher, teacher_ckpt, data_preprocessor, init_cfg,
                         teacher_data_preprocessor=teacher_data_preprocessor)
        s_feats, t_feats, s_trace = self.setup_boundaries(boundaries, teacher_boundaries,
                                                          probe_input_shape)
        self.stage_loss = MODELS.build(stage_loss)
        self._s_modules, self._t_modules = self.student_modules, self.teacher_modules
        self._phase_of = s_trace.phases(self.boundaries, 'model.boundaries')
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

    def stage_str(self, stage: Optional[int] = None) -> str:
        """Same as :meth:`phase_str`."""
        return self.phase_str(stage)

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
        # A tuple output (Swin's (x, hw_shape), HRNet's branches): one term per tensor.
        feats, targets = tensor_leaves(feat), tensor_leaves(target)
        if str(idx) in self.adapters:  # only built for a single tensor
            feats = [self.adapters[str(idx)](feats[0], targets[0])]
        loss = sum(self.stage_loss(f, t) for f, t in zip(feats, targets))
        return {f'loss_stage{idx + 1}': loss}

    # ------------------------------------------------------------------ build-time
    def _build_adapters(self, s_feats: List[Feature], t_feats: List[Feature],
                        adapters: bool) -> None:
        for idx, s, t, ch in self.width_mismatches(s_feats, t_feats):
            where = (f'stage {idx + 1} (student {self.boundaries[idx]!r}, teacher '
                     f'{self.teacher_boundaries[idx]!r})')
            if s.dim() == 3 and s.shape[1] != t.shape[1]:
                raise ValueError(f'{where}: token counts differ ({s.shape[1]} vs '
                                 f'{t.shape[1]}); choose boundaries with equal resolution')
            if not adapters:
                raise ValueError(f'{where}: student output {feature_shape(s_feats[idx])} != '
                                 f'teacher output {feature_shape(t_feats[idx])}. Set '
                                 'model.adapters=True to add a 1x1 conv / resize adapter.')
            self.adapters[str(idx)] = StageAdapter(s.shape[ch], t.shape[ch], s.dim())
