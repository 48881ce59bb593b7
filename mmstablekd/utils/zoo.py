"""The model-zoo sweep behind ``tools/zoo_check.py``.

For every model family in MMPretrain's installed configs, the smallest ``ImageClassifier``
config (fewest parameters) is its own teacher (no checkpoint); KD, DIST, SSKD and StableKD are
built with default arguments and take one SGD step on a random batch of 2 images at the size
the distillers probe by default (the backbone's ``img_size``, else 32x32) when the classifier
accepts it, else at the config's crop size.
"""
import copy
import re
import os.path as osp
import time
import traceback
from glob import glob
from typing import Callable, List, Optional

import torch
from mmengine.config import Config

from mmstablekd.models.utils.boundary_listing import config_crop_size
from mmstablekd.models.utils.cuts import classifier_forward
from mmstablekd.models.utils.probe import probe_input_shape
from mmstablekd.registry import MODELS

METHODS = ('VanillaKD', 'DIST', 'SSKD', 'StableKD')
HEADER = ('family', 'config', 'params', 'input', 'boundaries picked', 'KD', 'DIST', 'SSKD',
          'StableKD', 'error')


def mmpretrain_config_root() -> str:
    """The ``configs`` folder installed with mmpretrain (``.mim/configs``)."""
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs')


#: Config names of a family's big members, tried only when a family has nothing else.
BIG = re.compile(r'(large|huge|giant|xlarge|[-_](l|h|g|xl)[-_0-9p]|base)')


def _num_params(model_cfg: dict) -> float:
    """Parameters of a classifier config, counted on the meta device (no memory, no init);
    ``inf`` when the backbone cannot be built there (ranked after the others)."""
    try:
        with torch.device('meta'):
            model = MODELS.build(copy.deepcopy(model_cfg))
    except Exception:  # noqa: BLE001 -- e.g. a backbone calling .item() on a meta tensor
        return float('inf')
    return sum(p.numel() for p in model.parameters())


def family_folders(root: str, families: Optional[List[str]] = None) -> List[str]:
    """Config folders of ``root`` (all but ``_base_``), in the order of ``families`` if given."""
    if families:
        return [osp.join(root, f) for f in families if osp.isdir(osp.join(root, f))]
    return [f for f in sorted(glob(osp.join(root, '*')))
            if osp.isdir(f) and not osp.basename(f).startswith('_')]


def smallest_config(folder: str, log: Callable[[str], None] = print) -> Optional[dict]:
    """The ImageClassifier config of ``folder`` with the fewest parameters (configs naming a
    big member, e.g. ``large``, only if there is nothing else).

    Returns:
        dict: ``path``, ``cfg`` and ``params``; None without an ImageClassifier config.
    """
    best = None
    paths = sorted(glob(osp.join(folder, '*.py')))
    small = [p for p in paths if not BIG.search(osp.basename(p))]
    for path in small or paths:
        try:
            cfg = Config.fromfile(path)
            if cfg.get('model', {}).get('type') != 'ImageClassifier':
                continue
            params = _num_params(_plain(cfg.model))
        except Exception as e:  # noqa: BLE001 -- a broken config is skipped, logged
            log(f'  skip {osp.basename(path)}: {type(e).__name__}: {e}'[:200])
            continue
        if best is None or params < best['params'] or (
                params == best['params'] == float('inf') and len(path) < len(best['path'])):
            best = dict(path=path, cfg=cfg, params=params)
    return best


def _plain(model_cfg) -> dict:
    """A classifier config without pretrained weights or init."""
    model = copy.deepcopy(model_cfg.to_dict() if hasattr(model_cfg, 'to_dict') else model_cfg)
    model.pop('init_cfg', None)
    model.get('backbone', {}).pop('init_cfg', None)
    if isinstance(model.get('backbone'), dict):
        model['backbone'].pop('pretrained', None)
    return model


def input_size(classifier: Optional[torch.nn.Module], crop: int) -> int:
    """The side of the sweep's input: what the distillers probe by default (the backbone's
    ``img_size``, else 32) if the classifier accepts it, else the config's crop size."""
    if classifier is None:
        return crop
    shape, _ = probe_input_shape(classifier, None)
    was_training = classifier.training
    classifier.eval()
    try:
        with torch.no_grad():
            classifier_forward(classifier, torch.zeros(2, *shape))
        return shape[1]
    except Exception:  # noqa: BLE001 -- refused: use the crop size
        return crop
    finally:
        classifier.train(was_training)


def _batch(crop: int, num_classes: int, seed: int = 0):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, crop, crop, generator=g)
    labels = torch.randint(0, max(num_classes, 1), (2, ), generator=g)
    return x, [DataSample().set_gt_label(int(y)) for y in labels]


def check_method(method: str, model_cfg: dict, data_preprocessor: Optional[dict],
                 crop: int, classifier: Optional[torch.nn.Module] = None) -> str:
    """Build ``method`` with the classifier as student and teacher, take one SGD step.

    ``classifier`` (the built ``model_cfg``) is copied for student and teacher instead of
    building both from the config (the same networks, much faster).

    Returns:
        str: the boundaries picked (block-wise methods) or ``''``.

    Raises:
        Exception: whatever the build or the step raised.
    """
    nets = [copy.deepcopy(classifier) for _ in range(2)] if classifier is not None else \
        [copy.deepcopy(model_cfg) for _ in range(2)]
    cfg = dict(type=method, student=nets[0], teacher=nets[1])
    if data_preprocessor:
        cfg['data_preprocessor'] = copy.deepcopy(data_preprocessor)
    if method in ('SSKD', 'StableKD'):
        cfg['probe_input_shape'] = (3, crop, crop)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.train()
    head = model_cfg.get('head') or {}
    x, samples = _batch(crop, head.get('num_classes', 1000))
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = model.loss(x, samples)
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    if not torch.isfinite(total):
        raise FloatingPointError(f'non-finite loss {float(total)}')
    total.backward()
    optim.step()
    return ', '.join(getattr(model, 'boundaries', []))


def _verdict(error: Exception) -> str:
    """``'refused'`` for a build-time error naming a config field (``model.*``), else
    ``'FAIL'`` (a crash)."""
    refused = isinstance(error, (ValueError, TypeError)) and 'model.' in str(error)
    return 'refused' if refused else 'FAIL'


def sweep(root: Optional[str] = None, families: Optional[List[str]] = None,
          log: Callable[[str], None] = print,
          on_row: Optional[Callable[[List[dict]], None]] = None) -> List[dict]:
    """Run :func:`check_method` for every method on every family's smallest config.

    Returns:
        list[dict]: one row per family: ``family``, ``config``, ``params``, ``boundaries``,
        per method ``'ok'``, ``'refused'`` (a clear build-time error naming the config field)
        or ``'FAIL'``, ``error`` (first failure, one line), ``seconds``.
    """
    root = root or mmpretrain_config_root()
    rows = []
    for folder in family_folders(root, families):
        family, start = osp.basename(folder), time.time()
        found = smallest_config(folder, log)
        if found is None:
            continue
        cfg = found['cfg']
        model_cfg = _plain(cfg.model)
        crop = config_crop_size(cfg) or 224
        dp = cfg.get('data_preprocessor')
        dp = dp.to_dict() if hasattr(dp, 'to_dict') else dp
        row = dict(family=family, config=osp.relpath(found['path'], root),
                   params=found['params'], boundaries='', error='')
        try:
            torch.manual_seed(0)
            classifier = MODELS.build(copy.deepcopy(model_cfg))
        except Exception:  # noqa: BLE001 -- reported by the per-method builds below
            classifier = None
        crop = input_size(classifier, crop)
        row['input'] = crop
        for method in METHODS:
            try:
                picked = check_method(method, model_cfg, dp, crop, classifier)
                row['boundaries'] = row['boundaries'] or picked
                row[method] = 'ok'
            except Exception as e:  # noqa: BLE001 -- every failure is a row, not a crash
                row[method] = _verdict(e)
                if not row['error']:
                    row['error'] = f'{method}: {type(e).__name__}: {e}'.replace('\n', ' ')
                    log(''.join(traceback.format_exception(e))[-1500:])
        row['seconds'] = round(time.time() - start, 1)
        log(f'{family}: ' + ' '.join(f'{m}={row[m]}' for m in METHODS)
            + f' ({row["seconds"]} s) {row["error"][:300]}')
        rows.append(row)
        if on_row is not None:
            on_row(rows)
    return rows


def zoo_markdown(rows: List[dict], command: str) -> str:
    """``benchmarks/zoo.md``: totals, then one table row per family."""
    n = len(rows)
    totals = ', '.join(f'{m}: {sum(r[m] == "ok" for r in rows)}/{n}' for m in METHODS)
    lines = ['# Model-zoo sweep: every MMPretrain classification family, default arguments', '',
             f'Command: `{command}`', '',
             'The smallest ImageClassifier config of each family in mmpretrain\'s installed '
             'configs is its own teacher (no checkpoint); each method is built with default '
             'arguments (block-wise methods: default boundaries) and takes one SGD step on a '
             'random batch of 2 images of `input` x `input` pixels: the size the distillers '
             'probe by default (the backbone\'s img_size, else 32) when the classifier accepts '
             'it, else the config\'s crop size.', '',
             f'Families: {n}. Working: {totals}.', '',
             '`refused`: a clear build-time error that names the config field; `FAIL`: any '
             'other error.', '',
             '| ' + ' | '.join(HEADER) + ' |', '|' + '---|' * len(HEADER)]
    for r in rows:
        error = r['error'].replace('|', '\\|')
        if len(error) > 400:
            error = error[:400] + ' ...'
        params = f'{r["params"] / 1e6:.1f}M' if r['params'] != float('inf') else '?'
        cells = [r['family'], f'`{r["config"]}`', params, str(r.get('input', '')),
                 r['boundaries'].replace('backbone.', '') or '-',
                 *[r[m] for m in METHODS], error]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'
