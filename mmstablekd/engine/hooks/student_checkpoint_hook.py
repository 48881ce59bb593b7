"""Write a student-only checkpoint at the end of distillation."""
import os.path as osp
from typing import Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmpretrain.utils import get_ori_model

from mmstablekd.models.distillers.base import BaseDistiller
from mmstablekd.registry import HOOKS
from mmstablekd.utils.student_export import model_config_path, write_model_config


@HOOKS.register_module()
class StudentCheckpointHook(Hook):
    """Save ``{work_dir}/student_epoch_{E}.pth``: the student alone, loadable by mmpretrain.

    No teacher weights, no training-only projectors/adapters and no optimizer state; keys are
    those of the student ``ImageClassifier`` (``backbone.*``, ``neck.*``, ``head.*``); ``meta``
    holds the epoch/iteration, the data set's ``dataset_meta`` (class names) and the config
    text, as MMEngine's own checkpoints do. Written after the last epoch and every ``interval``
    epochs if ``interval`` is set, by the main process only (DDP ranks hold the same weights).

    The student is what the distiller's ``export_student()`` returns: a StableKD student
    whose projectors stay deployed (a projector on a boundary active in the last stage) is
    saved with them, as a ``BoundaryProjectedClassifier`` whose config is written next to the
    checkpoint (``student_epoch_{E}.py``) and into its ``meta['model']``. The hook also records
    the distiller's export recipe (``student_deploy()``) in every regular checkpoint
    (``meta['student_deploy']``), so ``tools/convert_student.py`` exports the same student
    from them.

    Args:
        interval (int, optional): Also save every ``interval`` epochs.
        filename_tmpl (str): File name template, formatted with the epoch.
    """

    priority = 'VERY_LOW'

    def __init__(self, interval: Optional[int] = None,
                 filename_tmpl: str = 'student_epoch_{}.pth') -> None:
        if interval is not None and (not isinstance(interval, int) or interval < 1):
            raise ValueError(f'StudentCheckpointHook.interval must be a positive int or None, '
                             f'got {interval!r}')
        self.interval = interval
        self.filename_tmpl = filename_tmpl

    def after_train_epoch(self, runner) -> None:
        """Save on the interval and after the last epoch."""
        last = runner.epoch + 1 == runner.max_epochs
        if last or (self.interval and self.every_n_epochs(runner, self.interval)):
            self.save(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record how to export the student (deployed projectors) in the checkpoint meta."""
        deploy = self.deploy_meta(runner)
        if deploy:
            checkpoint.setdefault('meta', {})['student_deploy'] = deploy

    @staticmethod
    def _distiller(runner) -> BaseDistiller:
        model = get_ori_model(runner.model)
        if not isinstance(model, BaseDistiller):
            raise TypeError('StudentCheckpointHook needs a distiller model (an mmstablekd '
                            f'BaseDistiller such as StableKD), got {type(model).__name__}')
        return model

    @classmethod
    def deploy_meta(cls, runner) -> Optional[dict]:
        """The distiller's export recipe (``student_deploy()``), or None when the student
        deploys alone."""
        return cls._distiller(runner).student_deploy()

    def save(self, runner) -> Optional[str]:
        """Write the student checkpoint of the current model; returns its path.

        Returns None without writing on processes other than the main one (rank 0).
        """
        if not is_main_process():
            return None
        exported = self._distiller(runner).export_student(self._meta(runner))
        path = osp.join(runner.work_dir, self.filename_tmpl.format(runner.epoch + 1))
        torch.save(exported, path)
        runner.logger.info(f'Saved student-only checkpoint to {path}')
        if 'model' in exported['meta']:
            config = write_model_config(exported['meta']['model'], model_config_path(path))
            runner.logger.info(f'The student keeps its deployed projectors: build it with the '
                               f'model config {config}')
        return path

    @staticmethod
    def _meta(runner) -> dict:
        meta = dict(epoch=runner.epoch + 1, iter=runner.iter, cfg=runner.cfg.pretty_text)
        dataset = getattr(getattr(runner, 'train_dataloader', None), 'dataset', None)
        if getattr(dataset, 'metainfo', None) is not None:
            meta['dataset_meta'] = dataset.metainfo
        return meta
