"""What every mmstablekd distiller shares: building, loading and freezing the teacher."""
import copy
import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModel

from mmstablekd.registry import MODELS
from mmstablekd.utils.checkpoint import load_checkpoint_file
from mmstablekd.utils.strict_load import check_fits, state_dict_of
from mmstablekd.utils.teacher_ckpt import missing_teacher_message
from mmstablekd.utils.student_export import student_checkpoint
from ..utils.frozen import HeldTeacherMixin
from ..utils.teacher_preprocessor import build_teacher_preprocessor, ignored_teacher_statistics


def _check_model_cfg(cfg, field: str) -> None:
    if isinstance(cfg, nn.Module):
        return
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'{field} must be a model config dict with a "type" key (e.g. an '
                        f'mmpretrain ImageClassifier config), got {type(cfg).__name__}: {cfg!r}')


class BaseDistiller(HeldTeacherMixin, BaseModel):
    """Base class of the distillers: a trainable ``student`` and a frozen ``teacher``.

    * ``student`` / ``teacher`` are model configs (typically mmpretrain ``ImageClassifier``);
      the built networks are ``self.student`` and ``self.teacher``.
    * ``teacher_ckpt`` is loaded once, on CPU (``map_location='cpu'``), strictly: a checkpoint
      that does not match the teacher architecture is an error, not a warning.
    * The teacher never requires grad and stays in eval mode even after ``.train()``. It is
      held outside the module tree (:class:`~mmstablekd.models.utils.frozen.HeldTeacherMixin`)
      so no optimizer walks it; it still moves, saves and loads under ``teacher.*``.
    * The data preprocessor is the student's (the runner's top-level ``data_preprocessor`` if
      given): inputs are normalised and batch-augmented (Mixup/CutMix) once. A teacher with
      other statistics or resolution gets ``teacher_data_preprocessor``, which re-normalises
      (and resizes) that same mixed batch for it (:meth:`teacher_inputs`).
    * ``mode='predict'`` / ``'tensor'`` run the pure student: validation measures the student.

    **Export.** :meth:`export_student` returns the deployable student (state dict and, when
    it differs from the plain student classifier, the model config that builds it); the
    ``StudentCheckpointHook`` writes it and records :meth:`student_deploy` in every
    checkpoint, so ``tools/convert_student.py`` exports the same student from a file without
    building the model. A distiller whose student keeps some of its helper modules at
    deployment (StableKD's projectors) lists them in :meth:`deployed_projectors`.

    Subclasses implement :meth:`loss`. A distiller that trains in stages names the hook that
    switches them in ``stage_hook``; a training step (:meth:`parse_losses`, which both the
    plain and the DDP train step call) refuses to run until that hook has registered itself
    as ``stage_driver`` (when there is more than one stage), so a config without it fails at
    the first iteration instead of training every epoch in stage 0.

    Args:
        student (dict): Student model config.
        teacher (dict): Teacher model config.
        teacher_ckpt (str, optional): Teacher checkpoint (a plain classifier checkpoint as
            written by mmpretrain / ``configs/teachers``). ``None`` keeps a randomly
            initialised teacher (only useful in tests); a warning is logged.
        data_preprocessor (dict, optional): Overrides the student's data preprocessor.
        init_cfg (dict, optional): MMEngine init config of the distiller.
        teacher_data_preprocessor (dict, optional): The teacher's own preprocessing of the
            student's batch: ``mean`` / ``std`` (pixel units, the student's channel order),
            ``size`` (int or (H, W)), ``interpolation``, ``antialias``; see
            :class:`~mmstablekd.models.utils.teacher_preprocessor.TeacherPreprocessor`.
            ``None``: the teacher sees the student's batch.
    """

    #: Name of the hook that must drive the training stages (None: not staged).
    stage_hook: Optional[str] = None

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 teacher_ckpt: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 teacher_data_preprocessor: Optional[dict] = None) -> None:
        _check_model_cfg(student, 'model.student')
        _check_model_cfg(teacher, 'model.teacher')
        if teacher_ckpt is not None and not isinstance(teacher_ckpt, str):
            raise TypeError(f'model.teacher_ckpt must be a path string or None, '
                            f'got {teacher_ckpt!r}')
        # What the export needs to write the student's config (see student_deploy).
        self._student_cfg = _plain_cfg(student) if isinstance(student, dict) else None
        self._override_preprocessor = _plain_cfg(data_preprocessor) if data_preprocessor \
            else None
        preprocessor = self._preprocessor_cfg(student, data_preprocessor)
        super().__init__(data_preprocessor=MODELS.build(copy.deepcopy(preprocessor)),
                         init_cfg=init_cfg)
        self.teacher_preprocessor = build_teacher_preprocessor(teacher_data_preprocessor,
                                                               self.data_preprocessor)
        ignored = ignored_teacher_statistics(teacher, self.data_preprocessor)
        if ignored and teacher_data_preprocessor is None:
            MMLogger.get_current_instance().warning(ignored)
        if isinstance(student, dict):
            student = copy.deepcopy(student)
            student['data_preprocessor'] = preprocessor
        self.student = student if isinstance(student, nn.Module) else MODELS.build(student)
        self.hold_teacher(teacher if isinstance(teacher, nn.Module) else MODELS.build(teacher))
        _check_trainable_head(self.student)
        self.teacher_ckpt = teacher_ckpt
        self._load_teacher(teacher_ckpt)
        self._register_load_state_dict_pre_hook(self._load_plain_student)
        #: The hook that switches the stages, set by that hook at ``before_run``.
        self.stage_driver: Optional[str] = None

    @staticmethod
    def _preprocessor_cfg(student, data_preprocessor: Optional[dict]) -> dict:
        if data_preprocessor is None and isinstance(student, dict):
            data_preprocessor = student.get('data_preprocessor')
        cfg = copy.deepcopy(dict(data_preprocessor or {}))
        cfg.setdefault('type', 'ClsDataPreprocessor')
        train_cfg = student.get('train_cfg') if isinstance(student, dict) else None
        if train_cfg and 'augments' in train_cfg:
            cfg.setdefault('batch_augments', train_cfg)
        return cfg

    def _load_teacher(self, teacher_ckpt: Optional[str]) -> None:
        logger = MMLogger.get_current_instance()
        if teacher_ckpt is None:
            logger.warning('model.teacher_ckpt is None: the teacher keeps its initial weights '
                           'unless a loaded checkpoint (load_from/resume) provides them.')
            return
        if '://' not in teacher_ckpt and not os.path.exists(teacher_ckpt):
            raise FileNotFoundError(missing_teacher_message(teacher_ckpt, self.teacher))
        source = f'model.teacher_ckpt={teacher_ckpt!r}'
        state = state_dict_of(load_checkpoint_file(teacher_ckpt, what='model.teacher_ckpt'),
                              source)
        check_fits(self.teacher, state, source, 'model.teacher')
        self.teacher.load_state_dict(state, strict=True)
        logger.info(f'Loaded the teacher from {teacher_ckpt} ({len(state)} tensors).')
        # The runner's init_weights() must not re-initialise the loaded teacher.
        self.teacher._is_init = True

    def _load_plain_student(self, state_dict: dict, prefix: str, *args) -> None:
        """Load a plain classifier checkpoint (``backbone.*``, ``head.*``) into the student.

        A distiller's keys are ``student.*`` / ``teacher.*``; without this, ``load_from`` with
        a student-only checkpoint would match nothing and load nothing (silently, since
        MMEngine loads non-strictly). The keys are re-prefixed with ``student.`` instead.
        """
        keys = [k for k in state_dict if k.startswith(prefix)]
        ours = tuple(prefix + name + '.' for name in (*dict(self.named_children()), 'teacher'))
        if not keys or any(k.startswith(ours) for k in keys):
            return
        for k in keys:
            state_dict[f'{prefix}student.{k[len(prefix):]}'] = state_dict.pop(k)
        MMLogger.get_current_instance().info(
            f'Loaded a plain classifier checkpoint ({len(keys)} tensors) into the student.')

    def parse_losses(self, losses: dict) -> tuple:
        """MMEngine's loss parsing, after checking that the stages are driven (see class doc)."""
        staged = getattr(self, 'num_stages', 2) > 1  # a single stage needs no switching
        if self.stage_hook is not None and staged and self.stage_driver is None:
            raise RuntimeError(
                f'{type(self).__name__} trains in stages that {self.stage_hook} switches, but '
                f'no {self.stage_hook} is registered: every epoch would train stage 0. Add '
                f"dict(type='{self.stage_hook}') to custom_hooks (the configs in "
                f'configs/ do).')
        return super().parse_losses(losses)

    # ------------------------------------------------------------------ export
    def deployed_projectors(self) -> List[dict]:
        """Helper modules the deployed student keeps, each ``source`` (its state-dict prefix
        in the distiller, e.g. ``'projectors.3'``), ``path`` (the student module it follows)
        and the :class:`BoundaryProjector` arguments. None by default."""
        return []

    def deploy_rename(self) -> Dict[str, str]:
        """Distiller prefix -> exported prefix of every deployed projector, e.g.
        ``{'projectors.3.': 'boundary_projectors.0.'}``: the one place this rename is
        written (the export applies it, loading an exported student reverses it)."""
        return {p['source'] + '.': f'boundary_projectors.{i}.'
                for i, p in enumerate(self.deployed_projectors())}

    def student_deploy(self) -> Optional[dict]:
        """How the deployed student differs from the plain student classifier.

        Returns:
            dict | None: None when the student deploys alone; else ``model`` (a
            ``BoundaryProjectedClassifier`` config: the student's config plus its
            ``boundary_projectors``) and ``rename`` (:meth:`deploy_rename`). Plain Python
            values, stored in checkpoint metas as ``meta['student_deploy']``.

        Raises:
            ValueError: deployed projectors on a student given as a module (no config to
                write) or not an ``ImageClassifier``.
        """
        projectors = self.deployed_projectors()
        if not projectors:
            return None
        student = self._student_cfg
        if student is None or student.get('type') not in ('ImageClassifier',
                                                          'mmpretrain.ImageClassifier'):
            kind = 'a module' if student is None else f'type={student.get("type")!r}'
            raise ValueError('the student keeps deployed projectors, so model.student must be '
                             f'an ImageClassifier config dict to export, got {kind}')
        model = copy.deepcopy(student)
        model['type'] = 'BoundaryProjectedClassifier'
        if self._override_preprocessor:
            model['data_preprocessor'] = copy.deepcopy(self._override_preprocessor)
        model['boundary_projectors'] = [{k: v for k, v in p.items() if k != 'source'}
                                        for p in projectors]
        return dict(model=model, rename=self.deploy_rename())

    def export_student(self, meta: Optional[dict] = None) -> dict:
        """The deployable student of the current weights, as a plain checkpoint.

        Args:
            meta (dict, optional): Run identity to keep (``epoch``, ``iter``, ``cfg``,
                ``dataset_meta`` ...; see :func:`~mmstablekd.utils.student_export.
                student_checkpoint`).

        Returns:
            dict: ``{'meta': ..., 'state_dict': ...}`` with the student's keys
            (``backbone.*``, ``neck.*``, ``head.*``, plus ``boundary_projectors.*`` when it
            keeps projectors, then ``meta['model']`` is the config that builds it).
        """
        meta = dict(meta or {})
        deploy = self.student_deploy()
        if deploy:
            meta['student_deploy'] = deploy
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        exported, _ = student_checkpoint(dict(meta=meta, state_dict=state))
        return exported

    # ------------------------------------------------------------------ stages
    def hold_stage(self, stage: int, driver: str) -> None:
        """Put a staged distiller into ``stage``, naming ``driver`` as what drives its stages.

        For tools that pick the stage themselves (e.g. a benchmark that times every stage on
        its own); in training, the config's stage hook does this (``stage_hook``).

        Raises:
            TypeError: the distiller does not train in stages.
        """
        if not hasattr(self, 'set_stage'):
            raise TypeError(f'{type(self).__name__} does not train in stages')
        self.set_stage(stage)
        self.stage_driver = str(driver)

    def train(self, mode: bool = True) -> 'BaseDistiller':
        """Set train mode on the distiller; the teacher always stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        """``'loss'`` distils; ``'predict'`` and ``'tensor'`` run the pure student.

        Args:
            inputs (Tensor): (N, C, H, W) preprocessed images.
            data_samples (list[DataSample], optional): annotations.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode in ('predict', 'tensor'):
            return self.student(inputs, data_samples, mode=mode)
        raise RuntimeError(f'Invalid mode "{mode}"; expected "loss", "predict" or "tensor"')

    def loss(self, inputs: torch.Tensor, data_samples: List) -> dict:
        """Distillation losses of one batch; implemented by every distiller."""
        raise NotImplementedError

    def teacher_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """The teacher's view of the (N, C, H, W) student batch: the batch itself, or its
        re-normalisation / resize by ``teacher_data_preprocessor``."""
        if self.teacher_preprocessor is None:
            return inputs
        return self.teacher_preprocessor(inputs)

    def teacher_probe_shape(self, shape: Sequence[int]) -> Tuple[int, ...]:
        """(C, H, W) of the teacher's input for a student input of ``shape`` (C, H, W)."""
        size = getattr(self.teacher_preprocessor, 'size', None)
        return tuple(shape) if size is None else (shape[0], *size)

    @torch.no_grad()
    def teacher_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """(N, num_classes) teacher logits of the student batch ``inputs``, without grad (a
        tuple of them for a head with several outputs; see :func:`logit_loss`)."""
        return classifier_logits(self.teacher, self.teacher_inputs(inputs))


def _check_trainable_head(student: nn.Module) -> None:
    """Refuse a student head that mmpretrain cannot train (LeViT's distillation mode)."""
    head = getattr(student, 'head', None)
    if type(head).__name__ == 'LeViTClsHead' and getattr(head, 'distillation', False):
        raise ValueError('model.student.head: LeViTClsHead(distillation=True) cannot be '
                         'trained (mmpretrain raises NotImplementedError in training mode); '
                         'set model.student.head.distillation=False (the teacher may keep it)')


def logit_loss(loss_fn: nn.Module, student_logits, teacher_logits, *extra,
               **kwargs) -> torch.Tensor:
    """``loss_fn`` between student and teacher logits, for heads with several outputs too.

    A head may return a tuple of (N, num_classes) logits (Conformer: CNN and transformer
    branch). Then every student output gets its own term against the teacher's output of the
    same index (or the teacher's only / averaged logits), and the terms are averaged, as such
    a head averages its own CE over its outputs.
    """
    s_list = list(student_logits) if isinstance(student_logits, (tuple, list)) else None
    t_list = list(teacher_logits) if isinstance(teacher_logits, (tuple, list)) else None
    if s_list is None and t_list is None:
        return loss_fn(student_logits, teacher_logits, *extra, **kwargs)
    if s_list is None:
        s_list = [student_logits]
    if t_list is None or len(t_list) != len(s_list):
        mean = teacher_logits if t_list is None else torch.stack(t_list).mean(0)
        t_list = [mean] * len(s_list)
    terms = [loss_fn(s, t, *extra, **kwargs) for s, t in zip(s_list, t_list)]
    return sum(terms) / len(terms)


def _plain_cfg(cfg) -> dict:
    """A ``ConfigDict`` (or dict) as a deep-copied plain dict (storable in a checkpoint meta
    that loads with ``weights_only``)."""
    return copy.deepcopy(cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg))


def classifier_logits(classifier: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """(N, num_classes) logits of an mmpretrain classifier: ``ImageClassifier`` (backbone ->
    neck -> head) or a head-less one such as ``TimmClassifier`` (its ``'tensor'`` forward)."""
    if getattr(classifier, 'head', None) is None:
        return classifier(inputs, mode='tensor')
    feats = classifier.extract_feat(inputs)
    return classifier.head(feats)


def head_loss(classifier: nn.Module, inputs: torch.Tensor, data_samples: list) -> tuple:
    """Student task loss and logits in one forward.

    Runs ``extract_feat`` once and the head's own loss (so label smoothing, mixup targets
    etc. configured on the student head are honoured).

    Returns:
        tuple: (dict of head losses, e.g. ``{'loss': ce}``; (N, num_classes) logits).
    """
    feats = classifier.extract_feat(inputs)
    logits = classifier.head(feats)
    losses = classifier.head._get_loss(logits, data_samples)
    return losses, logits
