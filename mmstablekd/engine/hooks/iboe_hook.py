"""Measure the inter-block optimization entanglement (IBOE) proxies of the StableKD paper."""
import json
import math
import os.path as osp
from collections import deque
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.hooks import Hook, LoggerHook
from mmpretrain.utils import get_ori_model

from mmstablekd.models.utils import get_submodule
from mmstablekd.registry import HOOKS


@HOOKS.register_module()
class IBOEHook(Hook):
    r"""Log the two IBOE proxies: parameter step distance and validation-accuracy fluctuation.

    StableKD (Kao, Chen and Chan, HKUST, 2023; Sec. 3 and Fig. 1) attributes slow, fluctuating
    KD training to inter-block optimization entanglement and shows it with two quantities,
    measured here:

    * **Parameter step distance** of every module path ``m`` in ``module_paths`` (paths in the
      runner's model, e.g. ``'student.head'`` or ``'student.backbone.layer4'``): at a
      measured iteration ``t``

      .. math:: d_m(t) = \big\| \theta_m^{(t)} - \theta_m^{(t-1)} \big\|_2
                       = \sqrt{\textstyle\sum_{p \in m} \|p^{(t)} - p^{(t-1)}\|_F^2}

      over the trainable parameters of ``m``, where :math:`\theta^{(t-1)}` is taken just before
      and :math:`\theta^{(t)}` just after the optimizer step of iteration ``t``. It is logged as
      the training scalar ``iboe/param_dist/<m>`` (message-hub key
      ``train/iboe/param_dist/<m>``). MMEngine's ``LogProcessor`` logs such keys with their
      *latest* value, so measuring on the iterations the ``LoggerHook`` logs (the default,
      ``interval=None``) puts every measured value, unsmoothed, into the text log and every
      visualizer backend (``scalars.json``, TensorBoard, ...), with ``step`` = iteration.
    * **Validation-accuracy fluctuation**: with :math:`a_v` the ``metric_key`` (default
      ``accuracy/top1``, in %) of the ``v``-th validation (v = 1, 2, ...):

      .. math:: \Delta_v = |a_v - a_{v-1}|, \qquad
                \sigma_v = \operatorname{std}(a_{\max(1, v-W+1)}, \dots, a_v)

      (population std over a window of the last ``W = window`` validations), both from the
      second validation on, logged as the validation scalars ``iboe/acc_delta`` and
      ``iboe/acc_std`` next to the accuracy (``step`` = epoch).

    With ``every_iter=True`` the step distance is measured at *every* iteration (the paper's
    Fig. 1c is the cumulative distance over all iterations), cheaply: the parameters are
    copied into buffers allocated once, the difference is taken in place with ``foreach``
    ops, and the per-iteration values stay on the device until a logged iteration, when they
    are fetched in one transfer. Then the hook also logs the cumulative distance
    :math:`D_m(t) = \sum_{\tau \le t} d_m(\tau)` as ``iboe/cum_param_dist/<m>`` (exact at
    every logged step: it sums every iteration, logged or not), keeps every value in
    ``history[m]``, and writes ``{work_dir}/iboe_param_dist.json`` (``{m: [d(1), d(2), ...]}``)
    after training. The cumulative sum restarts on resume.

    Running the same hook in a KD and a StableKD config (e.g. ``configs/stablekd/
    resnet18_r34_cifar100_iboe.py`` and ``..._1-0_iboe.py``) gives curves that can be plotted
    side by side from the two work dirs' ``vis_data/scalars.json``.

    Args:
        module_paths (Sequence[str]): Module paths in the model whose parameter step distance
            is measured. Defaults to ``('student.head', )``.
        metric_key (str): Validation metric whose fluctuation is measured.
        window (int): W, number of validations in the std window (>= 2).
        interval (int, optional): Measure every ``interval`` training iterations (and at the
            last iteration of an epoch, like the ``LoggerHook``). ``None``: the logger's
            interval. With ``every_iter`` it is the logging interval.
        every_iter (bool): Measure every iteration and log the cumulative distance (see
            above). Defaults to False.
    """

    priority = 'NORMAL'  # before the LoggerHook (BELOW_NORMAL) reads the message hub

    def __init__(self,
                 module_paths: Sequence[str] = ('student.head', ),
                 metric_key: str = 'accuracy/top1',
                 window: int = 5,
                 interval: Optional[int] = None,
                 every_iter: bool = False) -> None:
        if isinstance(module_paths, str) or not all(
                isinstance(p, str) and p for p in module_paths):
            raise TypeError(f'IBOEHook.module_paths must be a list of module path strings, got '
                            f'{module_paths!r}')
        if not isinstance(window, int) or window < 2:
            raise ValueError(f'IBOEHook.window must be an int >= 2, got {window!r}')
        if interval is not None and (not isinstance(interval, int) or interval < 1):
            raise ValueError(f'IBOEHook.interval must be a positive int or None, got '
                             f'{interval!r}')
        if not isinstance(every_iter, bool):
            raise TypeError(f'IBOEHook.every_iter must be a bool, got {every_iter!r}')
        self.every_iter = every_iter
        self.module_paths = list(module_paths)
        self.metric_key = metric_key
        self.window = window
        self.interval = interval
        self.accuracies: List[float] = []
        self._recent = deque(maxlen=window)
        self._params: Dict[str, List[torch.nn.Parameter]] = {}
        self._before: Dict[str, List[torch.Tensor]] = {}
        self.last_distances: Dict[str, float] = {}
        self.history: Dict[str, List[float]] = {}
        self.cumulative: Dict[str, float] = {}
        self._buffers: Dict[str, List[torch.Tensor]] = {}
        self._pending: Dict[str, List[torch.Tensor]] = {}

    def before_run(self, runner) -> None:
        """Resolve the module paths (a typo fails here, before training starts)."""
        model = get_ori_model(runner.model)
        for i, path in enumerate(self.module_paths):
            module = get_submodule(model, path, f'IBOEHook.module_paths[{i}]')
            params = [p for p in module.parameters() if p.requires_grad]
            if not params:
                raise ValueError(f'IBOEHook.module_paths[{i}]={path!r} has no trainable '
                                 'parameters')
            self._params[path] = params
            if self.every_iter:
                self._buffers[path] = [torch.empty_like(p, requires_grad=False)
                                       for p in params]
                self._pending[path] = []
                self.history[path] = []
                self.cumulative[path] = 0.0
        if self.interval is None:
            loggers = [h for h in runner.hooks if isinstance(h, LoggerHook)]
            self.interval = loggers[0].interval if loggers else 1

    def _measured(self, runner, batch_idx: int) -> bool:
        return (self.every_n_inner_iters(batch_idx, self.interval)
                or self.end_of_epoch(runner.train_dataloader, batch_idx))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Snapshot the parameters before the optimizer step of a measured iteration."""
        self._before.clear()
        if self.every_iter:
            with torch.no_grad():
                for path, params in self._params.items():
                    torch._foreach_copy_(self._buffers[path], [p.detach() for p in params])
            return
        if self._measured(runner, batch_idx):
            self._before = {path: [p.detach().clone() for p in params]
                            for path, params in self._params.items()}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Log :math:`d_m(t)` for every module path."""
        if self.every_iter:
            self._step_every_iter(runner, batch_idx)
            return
        for path, before in self._before.items():
            sq = sum(float((p.detach().float() - b.float()).pow(2).sum())
                     for p, b in zip(self._params[path], before))
            self.last_distances[path] = math.sqrt(sq)
            runner.message_hub.update_scalar(f'train/iboe/param_dist/{path}',
                                             self.last_distances[path])
        self._before.clear()

    def _step_every_iter(self, runner, batch_idx: int) -> None:
        with torch.no_grad():
            for path, params in self._params.items():
                diff = self._buffers[path]
                torch._foreach_sub_(diff, [p.detach() for p in params])  # before - after
                norms = torch._foreach_norm(diff)
                self._pending[path].append(torch.linalg.vector_norm(torch.stack(norms)))
        if self._measured(runner, batch_idx):
            self._flush(runner)

    def _flush(self, runner) -> None:
        """Fetch the pending per-iteration distances (one transfer) and log them."""
        for path, pending in self._pending.items():
            if not pending:
                continue
            values = torch.stack(pending).float().cpu().tolist()
            pending.clear()
            self.history[path].extend(values)
            self.cumulative[path] += sum(values)
            self.last_distances[path] = values[-1]
            runner.message_hub.update_scalar(f'train/iboe/param_dist/{path}', values[-1])
            runner.message_hub.update_scalar(f'train/iboe/cum_param_dist/{path}',
                                             self.cumulative[path])

    def after_train(self, runner) -> None:
        """With ``every_iter``: write every iteration's distance to the work dir."""
        if not self.every_iter:
            return
        self._flush(runner)
        path = osp.join(runner.work_dir, 'iboe_param_dist.json')
        with open(path, 'w') as f:
            json.dump(self.history, f)
        runner.logger.info(f'IBOEHook: per-iteration step distances written to {path}')

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Log :math:`\\Delta_v` and :math:`\\sigma_v` of the validation metric."""
        if not metrics:
            return
        if self.metric_key not in metrics:
            raise KeyError(f'IBOEHook.metric_key={self.metric_key!r} is not among the '
                           f'validation metrics {sorted(metrics)}')
        acc = float(metrics[self.metric_key])
        self.accuracies.append(acc)
        self._recent.append(acc)
        if len(self.accuracies) < 2:
            return
        delta = abs(acc - self.accuracies[-2])
        mean = sum(self._recent) / len(self._recent)
        std = math.sqrt(sum((a - mean)**2 for a in self._recent) / len(self._recent))
        runner.message_hub.update_scalar('val/iboe/acc_delta', delta)
        runner.message_hub.update_scalar('val/iboe/acc_std', std)
