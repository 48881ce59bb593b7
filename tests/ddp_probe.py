"""Test-only hook for tests/test_distributed.py (imported by its configs through
``custom_imports``): every rank writes its per-iteration losses and final student weights."""
import json
import os.path as osp

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmpretrain.utils import get_ori_model

from mmstablekd.registry import HOOKS


@HOOKS.register_module(force=True)
class DDPProbeHook(Hook):
    """Write ``probe_rank{r}.jsonl`` (iteration, stage, world size, log vars, and the
    autocast dtype of the student's stem output) and ``student_rank{r}.pth``."""

    priority = 'LOWEST'

    def before_train(self, runner):
        self.path = osp.join(runner.work_dir, f'probe_rank{get_rank()}.jsonl')
        open(self.path, 'w').close()
        stem = get_ori_model(runner.model).student.backbone.conv1
        stem.register_forward_hook(lambda m, a, out: setattr(self, 'dtype', str(out.dtype)))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        model = get_ori_model(runner.model)
        record = dict(iter=runner.iter, stage=getattr(model, 'stage', None),
                      world_size=get_world_size(), dtype=getattr(self, 'dtype', None),
                      wrapped=type(runner.model).__name__,
                      **{k: float(torch.as_tensor(v).detach()) for k, v in outputs.items()})
        with open(self.path, 'a') as f:
            f.write(json.dumps(record) + '\n')

    def after_train(self, runner):
        torch.save(get_ori_model(runner.model).student.state_dict(),
                   osp.join(runner.work_dir, f'student_rank{get_rank()}.pth'))


def main(argv=None) -> None:
    """``tools/train.py CONFIG [CONFIG ...] [flags]`` with :func:`prepare_cpu_distributed`,
    run under torchrun; config ``i`` trains in ``<work-dir>/<i>``, one after the other in the
    same process group (one launch, one import, for several methods)."""
    import sys

    from mmstablekd.apis.distributed import prepare_cpu_distributed, release_process_group
    from mmstablekd.apis.runner import build_train_cfg, run_train
    sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools'))
    from train import parse_args
    argv = list(sys.argv[1:] if argv is None else argv)
    configs = []
    while argv and not argv[0].startswith('--'):
        configs.append(argv.pop(0))
    work_dir = argv[argv.index('--work-dir') + 1]
    for i, config in enumerate(configs):
        args = parse_args([config] + argv)
        args.work_dir = osp.join(work_dir, str(i))
        run_train(prepare_cpu_distributed(build_train_cfg(args)))
    release_process_group()


if __name__ == '__main__':
    main()
