"""StableKD: block-wise Decomposition and progressive Recomposition (Kao, Chen and Chan,
HKUST, 2023)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmstablekd.registry import MODELS
from mmstablekd.utils.stages import format_partition, stage_partitions
from ..utils.boundary_projector import BoundaryProjector
from ..utils.features import Feature, detach, loss_pair, map_tensors
from .base import head_loss, logit_loss
from .blockwise import BlockwiseDistiller


@MODELS.register_module()
class StableKD(BlockwiseDistiller):
    """StableKD-k/n distiller built on forward hooks at module-path boundaries.

    Student and teacher are cut at the same ``k-1`` boundaries (module paths, e.g.
    ``backbone.layer1`` ... ``backbone.layer4`` for ResNet -> k=5 blocks, the last block being
    neck + head). In a training stage a subset of boundaries is *active*. At an active
    boundary ``b``:

    * the student's output at ``b`` is recorded and ``feature_loss`` (MSE) to the teacher's
      output at ``b`` is returned as ``loss_mse_b{b+1}``;
    * unless ``feed_teacher_features=False``, the student block after ``b`` receives the
      teacher's output at ``b`` (detached, the same tensor, bit for bit), so no gradient
      crosses ``b``: every block group learns alone.

    The final group is trained with the student head's own loss (CE, ``loss_cls``) plus
    ``distill_loss`` between student and teacher logits (KL by default, ``loss_kd``):
    ``CE + lambda*KL + sum MSE`` (paper eq. 8). Stage ``s`` uses the partition obtained by
    applying the recomposing function ``s`` times; :meth:`set_stage` switches it (the
    ``StableKDStageHook`` does so by epoch). ``predict``/``tensor`` modes run the student
    as it is deployed: the pure student, except that a projector on a boundary still active
    in the last stage stays in it (see ``projectors``).

    Args:
        student (dict): Student classifier config.
        teacher (dict): Teacher classifier config.
        boundaries (Sequence[str], optional): Student module paths that end blocks 1..k-1, in
            forward order. A boundary output may be a tensor or a tuple (e.g. Swin's
            ``(x, hw_shape)``): the feature loss uses its tensors, other parts pass through.
            Default: the backbone's stages (``backbone.layer1`` ... ``backbone.layer4`` for
            ResNet -> StableKD-5/n; see ``models/utils/default_boundaries.py`` for the other
            families). Every boundary must be a cut (checked at build time).
        teacher_boundaries (Sequence[str], optional): The teacher's module paths; defaults to
            ``boundaries`` (or the teacher backbone's stages when both are unset).
        num_recompositions (int): n in StableKD-k/n. Defaults to 2.
        stage_epochs (Sequence[int], optional): Explicit epochs per stage (n+1 entries);
            default: derived from ``train_cfg.max_epochs`` (see ``utils/stages.py``).
        distill_loss (dict): Final-block logit loss. Defaults to ``KDLoss(tau=1)``.
        feature_loss (dict): Loss at active boundaries. Defaults to ``FeatureMSELoss``.
        feed_teacher_features (bool): Whether an active boundary sends the teacher's feature
            to the next student block (StableKD's decomposition). ``False`` keeps the feature
            losses but lets the student's own feature flow on, end to end: the paper's "KD +
            MSE" ablation (Table 4). Defaults to True.
        projectors (bool): Insert 1x1 projectors where student and teacher widths differ
            (``Conv2d`` for (N, C, H, W) features, ``Linear`` for (N, L, C) tokens): one maps
            the student's output to the teacher's width for the feature loss, one maps the
            teacher's output to the student's width as the next student block's input.
            Without them a width mismatch is a build-time error. Where such a boundary is
            still active in the last stage (e.g. boundary 4 of 5/2: ``{1234}{5}``), the next
            block has learned on ``from_teacher(teacher feature)``, so validation and the
            exported student feed it ``from_teacher(to_teacher(student feature))``
            (:meth:`deployed_projectors`; the paper counts the projector in the student,
            Table 6). Defaults to False.
        probe_input_shape (Sequence[int], optional): (C, H, W) of the dummy input used at
            build time to check the boundaries and feature shapes. Default: the backbone's
            ``img_size`` if it has one, else (3, 32, 32), else (3, 224, 224).
        teacher_ckpt (str, optional): Teacher checkpoint.
        data_preprocessor (dict, optional): Overrides the student's preprocessor.
        init_cfg (dict, optional): Init config.
        teacher_data_preprocessor (dict, optional): The teacher's own normalisation / resize of
            the student's (mixed) batch; see :class:`BaseDistiller`.
    """

    allow_no_boundaries = True  # StableKD-1/0: one block, plain KD

    stage_hook = 'StableKDStageHook'

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 boundaries: Optional[Sequence[str]] = None,
                 teacher_boundaries: Optional[Sequence[str]] = None,
                 num_recompositions: int = 2,
                 stage_epochs: Optional[Sequence[int]] = None,
                 distill_loss: dict = dict(type='KDLoss', tau=1.0, loss_weight=1.0),
                 feature_loss: dict = dict(type='FeatureMSELoss', loss_weight=1.0),
                 feed_teacher_features: bool = True,
                 projectors: bool = False,
                 probe_input_shape: Optional[Sequence[int]] = None,
                 teacher_ckpt: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 teacher_data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(student, teacher, teacher_ckpt, data_preprocessor, init_cfg,
                         teacher_data_preprocessor=teacher_data_preprocessor)
        s_feats, t_feats, _ = self.setup_boundaries(boundaries, teacher_boundaries,
                                                     probe_input_shape)
        if not isinstance(num_recompositions, int):
            raise TypeError(f'model.num_recompositions must be an int, got {num_recompositions!r}')
        self.num_blocks = len(self.boundaries) + 1
        self.num_recompositions = num_recompositions
        if not isinstance(feed_teacher_features, bool):
            raise TypeError('model.feed_teacher_features must be a bool, got '
                            f'{feed_teacher_features!r}')
        self.feed_teacher_features = feed_teacher_features
        try:
            self.partitions = stage_partitions(self.num_blocks, num_recompositions)
        except ValueError as e:
            raise ValueError(f'model.num_recompositions: {e}') from None
        self.stage_epochs = list(stage_epochs) if stage_epochs is not None else None
        if self.stage_epochs is not None and len(self.stage_epochs) != self.num_stages:
            raise ValueError(f'model.stage_epochs={self.stage_epochs} must have '
                             f'num_recompositions+1={self.num_stages} entries')
        self.distill_loss = MODELS.build(distill_loss)
        self.feature_loss = MODELS.build(feature_loss)

        self.projectors = nn.ModuleDict()
        self._build_projectors(s_feats, t_feats, projectors)

        self._distilling = False
        self._teacher_out: Dict[int, Feature] = {}
        self._feature_losses: Dict[int, torch.Tensor] = {}
        for idx, module in enumerate(self.student_modules):
            module.register_forward_hook(self._make_student_hook(idx))
        for idx, module in enumerate(self.teacher_modules):
            module.register_forward_hook(self._make_teacher_hook(idx))
        self._register_load_state_dict_pre_hook(self._load_exported_projectors)
        self.stage = 0

    # ------------------------------------------------------------------ stages
    @property
    def num_stages(self) -> int:
        """n + 1."""
        return self.num_recompositions + 1

    @property
    def active_boundaries(self) -> Tuple[int, ...]:
        """Indices of the boundaries active in the current stage."""
        return self.partitions[self.stage]

    def set_stage(self, stage: int) -> None:
        """Switch to training stage ``stage`` (0-based, < n+1)."""
        if not 0 <= stage < self.num_stages:
            raise ValueError(f'stage must be in [0, {self.num_stages - 1}], got {stage}')
        self.stage = stage

    def partition_str(self, stage: Optional[int] = None) -> str:
        """The partition of ``stage`` (default: current), e.g. ``'{12}{34}{5}'``."""
        stage = self.stage if stage is None else stage
        return format_partition(self.partitions[stage], self.num_blocks)

    def stage_str(self, stage: Optional[int] = None) -> str:
        """E.g. ``'partition {12}{34}{5}'``."""
        return f'partition {self.partition_str(stage)}'

    # ------------------------------------------------------------------ hooks
    def _make_teacher_hook(self, idx: int):
        def hook(module, args, output):
            if self._distilling:
                self._teacher_out[idx] = detach(output)
        return hook

    @property
    def deploy_boundaries(self) -> Tuple[int, ...]:
        """Boundaries whose projector stays in the deployed student: those active in the
        last stage, with a projector, when teacher features are fed forward."""
        if not self.feed_teacher_features:
            return ()
        return tuple(b for b in self.partitions[-1] if str(b) in self.projectors)

    def deployed_projectors(self) -> List[dict]:
        """The projectors of :attr:`deploy_boundaries` as exported.

        Returns:
            list[dict]: per projector ``source`` (its state-dict prefix in the distiller,
            e.g. ``'projectors.3'``), ``path`` (module path in the student) and the
            :class:`BoundaryProjector` arguments.
        """
        return [dict(source=f'projectors.{b}', path=self.boundaries[b],
                     **self.projectors[str(b)].spec()) for b in self.deploy_boundaries]

    def _load_exported_projectors(self, state_dict: dict, prefix: str, *args) -> None:
        """Map an exported student's ``boundary_projectors.<i>.*`` back to ``projectors.*``.

        Runs after the base class re-prefixed a plain student checkpoint with ``student.``, so
        ``tools/test.py`` / ``load_from`` with a ``student_epoch_E.pth`` that kept its
        projectors restores them too (instead of leaving them unmatched).
        """
        for ours, exported in self.deploy_rename().items():  # the export's rename, reversed
            src, dst = f'{prefix}student.{exported}', f'{prefix}{ours}'
            for k in [k for k in state_dict if k.startswith(src)]:
                state_dict[dst + k[len(src):]] = state_dict.pop(k)

    def _make_student_hook(self, idx: int):
        def hook(module, args, output):
            if not self._distilling:
                if idx in self.deploy_boundaries:
                    return map_tensors(self.projectors[str(idx)], output)
                return None
            if idx not in self.active_boundaries:
                return None
            target = self._teacher_out[idx]
            key = str(idx)
            student_feat = output
            if key in self.projectors:
                student_feat = map_tensors(self.projectors[key].to_teacher, output)
            # Computed here, before the next block can touch the teacher tensor in place.
            self._feature_losses[idx] = self.feature_loss(*loss_pair(student_feat, target))
            if not self.feed_teacher_features:
                return None  # KD + MSE: the student's own feature flows on
            if key in self.projectors:
                return map_tensors(self.projectors[key].from_teacher, target)
            return target
        return hook

    # ------------------------------------------------------------------ loss
    def loss(self, inputs: torch.Tensor, data_samples: List) -> Dict[str, torch.Tensor]:
        """Losses of one StableKD step.

        Args:
            inputs (Tensor): (N, C, H, W) preprocessed images.
            data_samples (list[DataSample]): samples with ``gt_label``.

        Returns:
            dict: ``loss_mse_b{i}`` for every active boundary i (1-based), ``loss_cls`` (the
            student head's CE) and ``loss_kd`` (``distill_loss`` on the logits).
        """
        self._teacher_out.clear()
        self._feature_losses.clear()
        self._distilling = True
        try:
            teacher_logits = self.teacher_logits(inputs)
            head_losses, student_logits = head_loss(self.student, inputs, data_samples)
        finally:
            self._distilling = False
            self._teacher_out.clear()
        losses = {f'loss_mse_b{idx + 1}': loss
                  for idx, loss in sorted(self._feature_losses.items())}
        self._feature_losses.clear()
        losses['loss_cls'] = head_losses.pop('loss')
        losses['loss_kd'] = logit_loss(self.distill_loss, student_logits, teacher_logits)
        losses.update(head_losses)  # e.g. accuracy_top-1 when the head computes it
        return losses

    # ------------------------------------------------------------------ build-time checks
    def _build_projectors(self, s_feats: List[Feature], t_feats: List[Feature],
                          projectors: bool) -> None:
        for idx, s, t, ch in self.width_mismatches(s_feats, t_feats):
            self.same_layout(idx, s_feats[idx], t_feats[idx], s, t, ch)
            if not projectors:
                raise ValueError(
                    f'{self.where(idx)}: student width {s.shape[ch]} != teacher width '
                    f'{t.shape[ch]}. Set model.projectors=True to bridge them with 1x1 '
                    'projectors.')
            self.projectors[str(idx)] = BoundaryProjector(s.shape[ch], t.shape[ch], s.dim())
