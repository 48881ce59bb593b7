"""Write a student-only checkpoint at the end of distillation."""
import os.path as osp
from typing import Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmstablekd.registry import HOOKS
from mmstablekd.utils.student_export import (model_config_path, student_checkpoint,
                                             student_deploy_meta, write_model_config)


@HOOKS.register_module()
class StudentCheckpointHook(Hook):
    """Save ``{work_dir}/student_epoch_{E}.pth``: the student alone, loadable by mmpretrain.

    No teacher weights, no training-only projectors/adapters and no optimizer state; keys are
    those of the student ``ImageClassifier`` (``backbone.*``, ``neck.*``, ``head.*``); ``meta``
    holds the epoch/iteration, the data set's ``dataset_meta`` (class names) and the config
    text, as MMEngine's own checkpoints do. Written after the last epoch and every ``interval``
    epochs if ``interval`` is set, by the main process only (DDP ranks hold the same weights).

    A StableKD student whose projectors stay deployed (``StableKD.deployed_projectors()``:
    a projector on a boundary active in the last stage) is saved with them, as a
    ``BoundaryProjectedClassifier`` whose config is written next to the checkpoint
    (``student_epoch_{E}.py``) and into its ``meta['model']``. The hook also records that
    export recipe in every regular checkpoint (``meta['student_deploy']``), so
    ``tools/convert_student.py`` exports the same student from them.

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
    def deploy_meta(runner) -> Optional[dict]:
        """``student_deploy_meta`` of the runner's model, or None without deployed
        projectors."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        projectors = model.deployed_projectors() if hasattr(model, 'deployed_projectors') \
            else []
        if not projectors:
            return None
        model_cfg = runner.cfg.get('model', {})
        student_cfg = model_cfg.get('student')
        if not isinstance(student_cfg, dict):
            raise ValueError('StudentCheckpointHook: the student keeps deployed projectors, '
                             'so its config (model.student) must be a config dict to export')
        pre = model_cfg.get('data_preprocessor') or runner.cfg.get('data_preprocessor')
        return student_deploy_meta(_plain_dict(student_cfg), projectors,
                                   _plain_dict(pre) if pre else None)

    def save(self, runner) -> Optional[str]:
        """Write the student checkpoint of the current model; returns its path.

        Returns None without writing on processes other than the main one (rank 0).
        """
        if not is_main_process():
            return None
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        meta = self._meta(runner)
        deploy = self.deploy_meta(runner)
        if deploy:
            meta['student_deploy'] = deploy
        ckpt = dict(meta=meta,
                    state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()})
        exported, _ = student_checkpoint(ckpt)
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


def _plain_dict(cfg) -> dict:
    """A ``ConfigDict`` (or dict) as a plain dict (storable with ``weights_only`` loading)."""
    return cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
