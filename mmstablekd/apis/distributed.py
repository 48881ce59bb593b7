"""Let MMEngine's ``pytorch`` launcher (torchrun, ``tools/dist_train.sh``) run on CPUs."""
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def prepare_cpu_distributed(cfg: Config) -> Config:
    """Make ``--launcher pytorch`` work when no CUDA device is present.

    MMEngine assumes GPUs in three places: mmpretrain's ``default_runtime`` asks for the
    ``nccl`` backend, ``mmengine.dist.init_dist`` calls ``torch.cuda.set_device`` before
    creating the process group, and the runner passes ``device_ids=[LOCAL_RANK]`` to
    ``MMDistributedDataParallel``, which PyTorch rejects for CPU modules. Without CUDA this
    function therefore (1) switches ``env_cfg.dist_cfg.backend`` to ``gloo``, (2) sets
    ``model_wrapper_cfg.device_ids=None`` (keeping the config's ``find_unused_parameters``,
    top-level or in ``model_wrapper_cfg``) and (3) creates the gloo process group from
    torchrun's environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``), so
    the runner finds it initialised and skips ``init_dist``. With CUDA, or with
    ``cfg.launcher == 'none'``, nothing changes. Call it before ``Runner.from_cfg``.

    Args:
        cfg (Config): Training config with ``launcher`` set (modified in place).

    Returns:
        Config: ``cfg``.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} needs GPUs in MMEngine; on CPU-only machines '
                           'use --launcher pytorch (torchrun, tools/dist_train.sh)')
    env_cfg = cfg.setdefault('env_cfg', {})
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if not torch_dist.is_initialized():
        torch_dist.init_process_group('gloo', rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']))
    return cfg


def release_process_group() -> None:
    """Wait for every rank, then destroy the default process group (if there is one).

    Call it once at the end of a distributed run. A gloo process group that is still alive at
    interpreter exit can abort the process ("terminate called without an active exception")
    after the work is done, which turns a finished run into a failed exit code.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
