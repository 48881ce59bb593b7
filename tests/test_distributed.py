"""StableKD, vanilla KD and SSKD under MMDistributedDataParallel (2 CPU processes, gloo,
torchrun); StableKD against the single-process run on the same global batches; bf16 autocast
training on CPU (``tools/train.py --amp``).

Why the two runs can be compared number for number:

* data: no random augmentation and ``shuffle=False``; MMEngine's ``DefaultSampler`` gives
  rank r the samples r, r+2, ... so the two per-rank batches of 4 at iteration i are exactly
  the single-process batch of 8 at iteration i;
* weights: both runs seed 0 before building the model (and DDP broadcasts rank 0's);
* normalisation: the student uses GroupNorm. With BatchNorm every rank normalises with its
  own half-batch statistics (there is no SyncBN on CPU/gloo), so the per-rank losses would
  differ from the full-batch loss by design, as in any DDP run without SyncBN;
* every loss is a batch mean, so the mean over the two ranks of their half-batch losses is
  the full-batch loss, and DDP's averaged gradient is the full-batch gradient.

What remains is float32 rounding (summation over 4+4 vs 8 samples, the gradient all-reduce):
measured ~1e-7 relative on every one of the 12 iterations (loss_kd, a small number, 2e-6)
and 2e-7 absolute on the final weights; the asserts allow rel 1e-5 / abs 1e-5.
"""
import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmstablekd.apis.distributed import prepare_cpu_distributed
from conftest import REPO

CONFIG = '''_base_ = [{base!r}]
custom_imports = dict(imports=['mmstablekd', 'ddp_probe'], allow_failed_imports=False)
_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
_data = dict(type='CustomDataset', data_root={root!r}, pipeline=_pipeline)
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        sampler=dict(type='DefaultSampler', shuffle=False),
                        dataset=dict(_data, _delete_=True, data_prefix='train'))
val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                      dataset=dict(_data, _delete_=True, data_prefix='test'))
test_dataloader = val_dataloader
_gn = dict(type='GN', num_groups=4)
model = dict(teacher_ckpt=None,
             student=dict(backbone=dict(stem_channels=8, base_channels=8, norm_cfg=_gn),
                          head=dict(num_classes=4, in_channels=64)),
             teacher=dict(backbone=dict(stem_channels=8, base_channels=8),
                          head=dict(num_classes=4, in_channels=64)))
train_cfg = dict(max_epochs=3)  # StableKD-5/2: one epoch per stage, two stage changes
custom_hooks = _base_.custom_hooks + [dict(type='DDPProbeHook')]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=-1))
randomness = dict(seed=0)
'''


KD_EXTRA = "custom_hooks = [dict(type='StudentCheckpointHook'), dict(type='DDPProbeHook')]\n"
SSKD_EXTRA = """custom_hooks = [dict(type='SSKDStageHook', stage_epochs=[1, 1, 1, 1, 1]),
                dict(type='StudentCheckpointHook'), dict(type='DDPProbeHook')]
train_cfg = dict(max_epochs=5, val_begin=5)
"""


def write_config(tmp_path, tiny_data_root, base='configs/stablekd/resnet18_r34_cifar100.py',
                 name='stablekd.py', extra=''):
    path = tmp_path / name
    path.write_text(CONFIG.format(base=str(REPO / base), root=str(tiny_data_root)) + extra)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def read_probe(path):
    return [json.loads(s) for s in path.read_text().splitlines()]


def single_process_run(cfg_path, work_dir):
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(work_dir)
    Runner.from_cfg(cfg).train()
    return read_probe(work_dir / 'probe_rank0.jsonl')


@pytest.fixture(scope='module')
def ddp_run(tmp_path_factory, tiny_data_root):
    """One torchrun launch (2 processes) training StableKD, vanilla KD and SSKD in turn."""
    tmp = tmp_path_factory.mktemp('ddp')
    cfgs = [write_config(tmp, tiny_data_root),
            write_config(tmp, tiny_data_root, 'configs/kd/resnet18_r34_cifar100.py', 'kd.py',
                         KD_EXTRA),
            write_config(tmp, tiny_data_root, 'configs/sskd/resnet18_r34_cifar100.py',
                         'sskd.py', SSKD_EXTRA)]
    work = tmp / 'work'
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / 'tests')]))
    # tools/dist_train.sh's torchrun command, with tests/ddp_probe.py in place of
    # tools/train.py: it adds prepare_cpu_distributed (gloo, device_ids=None) on this CPU box.
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nnodes=1', '--nproc_per_node=2',
         '--master_addr=127.0.0.1', f'--master_port={free_port()}',
         str(REPO / 'tests/ddp_probe.py'), *map(str, cfgs), '--launcher', 'pytorch',
         '--work-dir', str(work), '--cfg-options', 'train_dataloader.batch_size=4'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    probes = {method: [read_probe(work / str(i) / f'probe_rank{r}.jsonl') for r in (0, 1)]
              for i, method in enumerate(('stablekd', 'kd', 'sskd'))}
    return cfgs[0], work, probes


def same_weights(work_dir) -> bool:
    w0, w1 = (torch.load(work_dir / f'student_rank{r}.pth', weights_only=True) for r in (0, 1))
    return all(torch.equal(w0[k], w1[k]) for k in w0)


def test_two_gloo_processes_train_stablekd_through_stage_changes(ddp_run):
    _, work, probes = ddp_run
    rank0, rank1 = probes['stablekd']
    assert len(rank0) == len(rank1) == 12  # 32 images / (2 x 4) per iteration x 3 epochs
    assert {r['world_size'] for r in rank0 + rank1} == {2}
    assert {r['wrapped'] for r in rank0} == {'MMDistributedDataParallel'}
    assert [r['stage'] for r in rank0] == [0] * 4 + [1] * 4 + [2] * 4
    assert 'loss_mse_b1' in rank0[0] and 'loss_mse_b1' not in rank0[4]
    assert same_weights(work / '0')  # DDP kept the replicas identical


def test_vanilla_kd_and_sskd_under_ddp(ddp_run):
    _, work, probes = ddp_run
    kd0, kd1 = probes['kd']
    assert len(kd0) == len(kd1) == 12 and {r['world_size'] for r in kd0} == {2}
    assert same_weights(work / '1')
    # SSKD: one phase per epoch (4 backbone stages, then the head), frozen parts change
    # every epoch; find_unused_parameters=True (configs/sskd) lets DDP skip them.
    sskd0, sskd1 = probes['sskd']
    assert len(sskd0) == len(sskd1) == 20
    assert [r['stage'] for r in sskd0[::4]] == [0, 1, 2, 3, 4]
    assert 'loss_cls' in sskd0[-1] and 'loss_cls' not in sskd0[0]
    assert same_weights(work / '2')


def test_first_iteration_loss_equals_single_process_loss(ddp_run, tmp_path):
    cfg, work, probes = ddp_run
    rank0, rank1 = probes['stablekd']
    single = single_process_run(cfg, tmp_path / 'single')
    assert len(single) == 12 and single[0]['world_size'] == 1
    for key in ('loss', 'loss_mse_b1', 'loss_mse_b4', 'loss_cls', 'loss_kd'):
        ddp = (rank0[0][key] + rank1[0][key]) / 2
        assert ddp == pytest.approx(single[0][key], rel=1e-5, abs=1e-7), key
        assert rank0[0][key] != rank1[0][key]  # the ranks really saw different halves
    for it in range(1, 12):  # later steps: the same trajectory up to rounding
        ddp = (rank0[it]['loss'] + rank1[it]['loss']) / 2
        assert ddp == pytest.approx(single[it]['loss'], rel=1e-5), it
    w_single = torch.load(tmp_path / 'single' / 'student_rank0.pth', weights_only=True)
    w_ddp = torch.load(work / '0' / 'student_rank0.pth', weights_only=True)
    assert all(torch.allclose(w_single[k], w_ddp[k], rtol=0, atol=1e-5) for k in w_ddp)


def test_amp_bf16_stablekd_on_cpu(tmp_path, tiny_data_root):
    from mmstablekd.apis.runner import build_train_cfg, run_train
    sys.path.insert(0, str(REPO / 'tools'))
    try:
        from train import parse_args
    finally:
        sys.path.pop(0)
    cfg_path = write_config(tmp_path, tiny_data_root)
    args = parse_args([str(cfg_path), '--amp', '--work-dir', str(tmp_path / 'amp'),
                       '--cfg-options', 'train_cfg.max_epochs=3'])
    cfg = build_train_cfg(args)
    if torch.cuda.is_available():
        pytest.skip('CPU autocast test')
    assert cfg.optim_wrapper.type == 'CPUAmpOptimWrapper'
    runner = run_train(cfg)
    probe = read_probe(tmp_path / 'amp' / 'probe_rank0.jsonl')
    assert len(probe) == 12 and {r['stage'] for r in probe} == {0, 1, 2}
    assert {r['dtype'] for r in probe} == {'torch.bfloat16'}  # autocast really ran
    for r in probe:
        assert all(torch.isfinite(torch.tensor(v)) for k, v in r.items()
                   if k.startswith('loss')), r
    params = [p for p in runner.model.student.parameters()]
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in params)


def test_cpu_dist_cfg_switches_to_gloo_and_device_ids_none(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.distributed, 'is_initialized', lambda: True)
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl')),
                      find_unused_parameters=True))
    prepare_cpu_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel',
                                         broadcast_buffers=False, find_unused_parameters=True,
                                         device_ids=None)
    kept = Config(dict(launcher='pytorch', model_wrapper_cfg=dict(
        type='MMDistributedDataParallel', find_unused_parameters=True)))
    prepare_cpu_distributed(kept)
    assert kept.model_wrapper_cfg.find_unused_parameters and \
        kept.model_wrapper_cfg.device_ids is None
    untouched = Config(dict(launcher='none', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert prepare_cpu_distributed(untouched).env_cfg.dist_cfg.backend == 'nccl'
    with pytest.raises(RuntimeError, match='--launcher slurm needs GPUs'):
        prepare_cpu_distributed(Config(dict(launcher='slurm')))
