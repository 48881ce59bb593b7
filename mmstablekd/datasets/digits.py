"""scikit-learn's handwritten digits, written once as a folder data set mmpretrain reads.

The 1,797 8x8 grey-scale digit images (UCI "Optical Recognition of Handwritten Digits", 10
classes, about 180 each) ship inside the ``scikit-learn`` wheel, so the quickstart needs no
download. :func:`write_digits_dataset` writes them as PNG files in the layout of
mmpretrain's :class:`~mmpretrain.datasets.CustomDataset` (one sub-folder per class)::

    root/train/0/0000.png ... root/train/9/...
    root/test/0/...           root/test/9/...
    root/meta.json            # split, counts, checksum: makes a second call a no-op

The train/test split is fixed and stratified: scikit-learn's
``train_test_split(stratify=labels, random_state=seed)`` holds out ``ceil(test_fraction * N)``
images, spread over the classes in proportion to their size. Pixel values 0..16 are mapped linearly
to 0..255; the images keep their native 8x8 size (the pipeline resizes them).
"""
import hashlib
import json
from pathlib import Path
from typing import Dict, Tuple, Union

import numpy as np
from PIL import Image

FORMAT_VERSION = 2  # 2: split by sklearn.model_selection.train_test_split
SPLITS = ('train', 'test')


def load_digits_arrays() -> Tuple[np.ndarray, np.ndarray]:
    """The digits as shipped by scikit-learn.

    Returns:
        tuple: (1797, 8, 8) uint8 images in 0..255 and (1797,) int64 labels in 0..9.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError('The quickstart data set ships with scikit-learn; install it with '
                          '`pip install scikit-learn` (it is in requirements.txt).') from e
    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return images, digits.target.astype(np.int64)


def split_indices(labels: np.ndarray, test_fraction: float,
                  seed: int) -> Dict[str, np.ndarray]:
    """Stratified, seeded train/test split (``sklearn.model_selection.train_test_split``).

    Args:
        labels (np.ndarray): (N,) integer class labels.
        test_fraction (float): Share of the set (and so of every class) that goes to
            ``test``, in (0, 1).
        seed (int): ``random_state`` of the split.

    Returns:
        dict: ``{'train': idx, 'test': idx}``, sorted index arrays that partition ``0..N-1``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f'test_fraction must be in (0, 1), got {test_fraction}')
    from sklearn.model_selection import train_test_split
    train, test = train_test_split(np.arange(len(labels)), test_size=test_fraction,
                                   stratify=labels, random_state=seed)
    return dict(train=np.sort(train), test=np.sort(test))


def _checksum(images: np.ndarray, labels: np.ndarray, split: Dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for arr in (images, labels, split['train'], split['test']):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def write_digits_dataset(root: Union[str, Path], test_fraction: float = 0.2,
                         seed: int = 0, overwrite: bool = False) -> dict:
    """Write the digits under ``root`` as ``{train,test}/<class>/<index>.png`` (once).

    A ``meta.json`` records the split and a checksum of the source arrays; when it matches,
    nothing is rewritten. The output is byte-for-byte deterministic.

    Args:
        root (str | Path): Output folder (e.g. ``data/digits``).
        test_fraction (float): Share of every class held out for ``test``. Defaults to 0.2.
        seed (int): Seed of the split. Defaults to 0.
        overwrite (bool): Rewrite even if ``meta.json`` matches. Defaults to False.

    Returns:
        dict: The meta data: ``classes``, per-split ``counts`` (list per class), ``checksum``,
        ``test_fraction``, ``seed``, ``image_size``.
    """
    root = Path(root)
    images, labels = load_digits_arrays()
    split = split_indices(labels, test_fraction, seed)
    classes = [str(c) for c in range(int(labels.max()) + 1)]
    meta = dict(version=FORMAT_VERSION, source='sklearn.datasets.load_digits',
                classes=classes, test_fraction=test_fraction, seed=seed,
                image_size=list(images.shape[1:]), checksum=_checksum(images, labels, split),
                counts={s: np.bincount(labels[split[s]], minlength=len(classes)).tolist()
                        for s in SPLITS})
    meta_file = root / 'meta.json'
    if not overwrite and meta_file.is_file():
        if json.loads(meta_file.read_text()) == meta:
            return meta
    for s in SPLITS:
        for c in classes:
            folder = root / s / c
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob('*.png'):
                old.unlink()
        for i in split[s]:
            Image.fromarray(images[i]).save(root / s / str(labels[i]) / f'{i:04d}.png')
    meta_file.write_text(json.dumps(meta, indent=2) + '\n')
    return meta
