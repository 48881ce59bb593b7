"""DIST's ``gather_intra``: the intra-class term over the global batch of all processes.

Two CPU processes (gloo) each hold half of a batch; a single process holds all of it. What
"equal" means: every rank computes the same global intra-class term, and the mean over ranks
of the per-rank losses (each with its own per-sample inter-class mean and CE) is the loss of
the single process on the concatenated batch. DistributedDataParallel *averages* the
gradients over ranks, so the gather's backward sums the intra-class gradient over ranks; the
DDP-averaged gradient then equals the single-process gradient (asserted to 1e-6 relative,
the norm of the difference over the norm). Without the option the per-rank intra-class
terms differ from the global one.
"""
import torch
import torch.multiprocessing as mp

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.registry import MODELS
from conftest import resnet_cifar_classifier

WORLD, N, C = 2, 8, 10
DIST_CFG = dict(type='DISTLoss', tau=4.0, loss_weight=2.0, beta=0.5, gamma=1.5)


def logits():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(N, C, generator=g) * 2
    s[:, 3] = 0.01 * torch.randn(N, generator=g)  # a nearly constant column
    return s, torch.randn(N, C, generator=g) * 2


def distiller(gather: bool):
    gn = dict(type='GN', num_groups=4)  # no batch statistics: halves = whole batch
    student = resnet_cifar_classifier(18, 4, 5)
    student['backbone']['norm_cfg'] = gn
    torch.manual_seed(0)
    teacher = resnet_cifar_classifier(34, 4, 5)
    return MODELS.build(dict(type='DIST', student=student, teacher=teacher, tau=4.0,
                             loss_weight=2.0, gather_intra=gather))


def images():
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, 3, 32, 32, generator=g)
    return x, [DataSample().set_gt_label(int(y)) for y in torch.randint(0, 5, (N, ), generator=g)]


def total(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def _worker(rank, init_file, out):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=WORLD)
    torch.set_num_threads(1)
    part = slice(rank * N // WORLD, (rank + 1) * N // WORLD)
    result = {}
    # The loss on logits: per-rank value and the gradient of the local rows.
    s, t = logits()
    for gather in (True, False):
        local = s[part].clone().requires_grad_(True)
        loss = MODELS.build(dict(DIST_CFG, gather_intra=gather))(local, t[part])
        loss.backward()
        result[gather] = (loss.detach(), local.grad)
    # The DIST distiller under DDP: student gradients after DDP's averaging.
    model = distiller(gather=True)
    model.train()
    ddp = DistributedDataParallel(model)
    x, samples = images()
    loss = total(ddp(x[part], samples[part], mode='loss'))
    loss.backward()
    result['model'] = (loss.detach(), {n: p.grad.clone() for n, p in
                                       model.student.named_parameters()})
    gathered = [None] * WORLD
    dist.all_gather_object(gathered, result)
    if rank == 0:
        torch.save(gathered, out)
    dist.destroy_process_group()


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


def test_gather_intra_equals_single_process_on_concatenated_batch(tmp_path):
    out = tmp_path / 'ranks.pt'
    mp.spawn(_worker, args=(str(tmp_path / 'init'), str(out)), nprocs=WORLD)
    ranks = torch.load(out, weights_only=False)

    # Reference: one process, the whole batch (the gather is a no-op without a group).
    s, t = logits()
    full = s.clone().requires_grad_(True)
    ref = MODELS.build(dict(DIST_CFG))(full, t)
    ref.backward()
    losses = torch.stack([r[True][0] for r in ranks])
    assert rel_err(losses.mean(), ref.detach()) <= 1e-6
    averaged = torch.cat([r[True][1] for r in ranks]) / WORLD  # DDP's average over ranks
    assert rel_err(averaged, full.grad) <= 1e-6
    # ... and per process (the default) it is not the global term.
    per_process = torch.stack([r[False][0] for r in ranks]).mean()
    assert rel_err(per_process, ref.detach()) > 1e-3

    model = distiller(gather=False)
    model.train()
    x, samples = images()
    ref_loss = total(model.loss(x, samples))
    ref_loss.backward()
    model_losses = torch.stack([r['model'][0] for r in ranks])
    assert rel_err(model_losses.mean(), ref_loss.detach()) <= 1e-6
    grads = ranks[0]['model'][1]
    assert all(torch.equal(grads[n], ranks[1]['model'][1][n]) for n in grads)  # DDP in sync
    for name, param in model.student.named_parameters():
        assert rel_err(grads[name], param.grad) <= 1e-6, name
