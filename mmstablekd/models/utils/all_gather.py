"""All-gather along the batch with a gradient back to the local part."""
import os

import torch
import torch.distributed as torch_dist


def distributed_world_size() -> int:
    """World size of the default process group; 1 when none is initialised."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_world_size()
    return 1


def check_gather_possible(field: str) -> None:
    """Raise if the launcher says several processes run but no process group exists.

    ``WORLD_SIZE`` (set by torchrun/slurm launchers) > 1 without an initialised default
    process group means every process would silently use only its own batch.

    Args:
        field (str): The config field that asked for the gather, for the message.
    """
    world = int(os.environ.get('WORLD_SIZE', '1') or 1)
    if world > 1 and distributed_world_size() == 1:
        raise RuntimeError(
            f'{field}=True needs the torch.distributed process group, but WORLD_SIZE={world} '
            'and none is initialised: launch with --launcher pytorch (tools/dist_train.sh), '
            f'or set {field}=False')


class _GatherBatch(torch.autograd.Function):
    """Concatenate every rank's (n_r, ...) tensor along dim 0 (sizes may differ).

    Backward: every rank computes the same function of the gathered tensor, so the
    gradient of the local part is the *sum* over ranks of their gradients for it (an
    all-reduce), which is what makes DDP's average over ranks the full-batch gradient.
    """

    @staticmethod
    def forward(ctx, local: torch.Tensor) -> torch.Tensor:
        world = torch_dist.get_world_size()
        size = torch.tensor([local.shape[0]], device=local.device)
        sizes = [torch.zeros_like(size) for _ in range(world)]
        torch_dist.all_gather(sizes, size)
        sizes = [int(s) for s in sizes]
        padded = local.new_zeros((max(sizes), ) + local.shape[1:])
        padded[:local.shape[0]] = local
        parts = [torch.empty_like(padded) for _ in range(world)]
        torch_dist.all_gather(parts, padded.contiguous())
        rank = torch_dist.get_rank()
        ctx.start, ctx.stop = sum(sizes[:rank]), sum(sizes[:rank + 1])
        return torch.cat([p[:n] for p, n in zip(parts, sizes)])

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        torch_dist.all_reduce(grad)
        return grad[ctx.start:ctx.stop]


def gather_batch(local: torch.Tensor) -> torch.Tensor:
    """All ranks' ``local`` tensors concatenated along dim 0, in rank order.

    Without an initialised process group (or with one process) ``local`` itself. The
    gradient flows back to ``local`` only (other ranks' parts reach their own processes
    through the all-reduce of the backward pass).

    Args:
        local (Tensor): (n_r, ...) this rank's part.

    Returns:
        Tensor: (sum_r n_r, ...).
    """
    if distributed_world_size() == 1:
        return local
    return _GatherBatch.apply(local)
