"""Hold a distiller's frozen teacher outside its module tree, so no optimizer walks it."""
from typing import Dict, List

import torch.nn as nn

TEACHER = 'teacher'


class HeldTeacherMixin:
    """Keep the frozen ``teacher`` out of the ``nn.Module`` tree of a distiller.

    An optimizer constructor walks the model's modules and parameters: MMEngine's
    ``DefaultOptimWrapperConstructor`` with a ``paramwise_cfg`` (every Swin/ConvNeXt recipe)
    logs one "teacher.* is skipped since its requires_grad=False" warning per teacher parameter.
    Here the teacher is a plain attribute (not in ``_modules``), so ``parameters()``,
    ``named_parameters()``, ``modules()`` and ``children()`` of the distiller never yield it,
    with no change to the user's ``optim_wrapper``; SyncBN conversion and DDP leave it alone
    as well (it is frozen and in eval mode). What a sub-module gets is kept:

    * ``.to()`` / ``.cuda()`` / ``.half()`` ... move and cast it (:meth:`_apply`);
    * ``state_dict()`` holds it under ``teacher.*`` and ``load_state_dict()`` reads those keys
      back into it (missing, unexpected and mis-shaped keys are reported as before);
    * ``init_weights()`` initialises it unless a checkpoint was loaded into it.

    Call :meth:`hold_teacher` once, after ``nn.Module.__init__``.
    """

    def hold_teacher(self, teacher: nn.Module) -> None:
        """Make ``teacher`` the frozen, eval-mode ``self.teacher`` (see class doc)."""
        teacher.requires_grad_(False)
        teacher.eval()
        self.__dict__[TEACHER] = teacher
        self.register_state_dict_post_hook(_save_teacher)
        self._register_load_state_dict_pre_hook(self._load_teacher_keys)

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        if recurse and TEACHER in self.__dict__:
            self.__dict__[TEACHER]._apply(fn)
        return self

    def init_weights(self) -> None:
        """Initialise the distiller, then the teacher unless its weights were loaded."""
        super().init_weights()
        teacher = self.__dict__.get(TEACHER)
        if teacher is not None and hasattr(teacher, 'init_weights') \
                and not getattr(teacher, '_is_init', False):
            teacher.init_weights()

    def _load_teacher_keys(self, state_dict: Dict, prefix: str, local_metadata: Dict,
                           strict: bool, missing_keys: List[str], unexpected_keys: List[str],
                           error_msgs: List[str]) -> None:
        """Load ``<prefix>teacher.*`` into the teacher and take those keys out of the dict."""
        head = f'{prefix}{TEACHER}.'
        if TEACHER not in self.__dict__ or not any(k.startswith(head) for k in state_dict):
            return
        metadata = getattr(state_dict, '_metadata', {})

        def load(module: nn.Module, module_prefix: str) -> None:
            module._load_from_state_dict(state_dict, module_prefix,
                                         metadata.get(module_prefix[:-1], {}), True,
                                         missing_keys, unexpected_keys, error_msgs)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, f'{module_prefix}{name}.')

        load(self.__dict__[TEACHER], head)
        for key in [k for k in state_dict if k.startswith(head)]:
            del state_dict[key]


def _save_teacher(module: nn.Module, state_dict: Dict, prefix: str, local_metadata: Dict):
    """``state_dict`` post-hook: add the held teacher's tensors as ``<prefix>teacher.*``."""
    teacher = module.__dict__.get(TEACHER)
    if teacher is not None:
        teacher.state_dict(destination=state_dict, prefix=f'{prefix}{TEACHER}.')
