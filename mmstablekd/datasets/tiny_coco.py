"""A tiny COCO-format instance-segmentation data set drawn from geometric shapes.

It lets the detection-transfer path (distilled backbone -> mmdet Mask R-CNN) run end to end
without COCO: the files are read by mmdet's own ``CocoDataset`` and scored by its own
``CocoMetric`` (pycocotools). Nothing is registered: this module only writes files.

Layout written under ``root`` (the same as COCO's, so only paths change in a config)::

    root/annotations/instances_train.json
    root/annotations/instances_val.json
    root/train/000000.png ...
    root/val/000000.png ...

Every image holds 1..``max_shapes`` non-overlapping shapes (``rectangle``, ``ellipse``,
``triangle``) in random colours on a noisy background. The polygon stored as the instance
mask is exactly the polygon that was filled, so masks and pixels agree; the box and the area
are those of the polygon rasterised by ``pycocotools.mask`` (COCO's own convention: the area
counts mask pixels), so they equal what ``COCO.annToMask`` gives back.
"""
import json
import os.path as osp
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

try:
    from pycocotools import mask as mask_utils
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError('the tiny COCO writer needs pycocotools: '
                      'pip install "mmstablekd[det]"') from e

CLASSES: Tuple[str, ...] = ('rectangle', 'ellipse', 'triangle')
SPLITS: Tuple[str, ...] = ('train', 'val')

Box = Tuple[float, float, float, float]  # x0, y0, x1, y1


def shape_polygon(kind: str, box: Box, rng: np.random.Generator) -> List[Tuple[float, float]]:
    """Vertices (x, y) of a shape of ``kind`` inscribed in ``box``.

    Args:
        kind (str): One of :data:`CLASSES`.
        box (tuple): (x0, y0, x1, y1) in pixels.
        rng (np.random.Generator): Source of randomness (triangle apex position).

    Returns:
        list[tuple[float, float]]: Polygon vertices; an ellipse is a 32-gon.
    """
    x0, y0, x1, y1 = box
    if kind == 'rectangle':
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if kind == 'ellipse':
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
        t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        return [(float(cx + rx * np.cos(a)), float(cy + ry * np.sin(a))) for a in t]
    if kind == 'triangle':
        apex = float(x0 + rng.uniform(0.2, 0.8) * (x1 - x0))
        return [(apex, y0), (x1, y1), (x0, y1)]
    raise ValueError(f'unknown shape kind {kind!r}; expected one of {CLASSES}')


def polygon_area_bbox(flat: Sequence[float], height: int,
                      width: int) -> Tuple[float, List[float]]:
    """Area (mask pixels) and ``[x, y, w, h]`` box of a polygon, as COCO computes them.

    Args:
        flat (Sequence[float]): Polygon ``[x0, y0, x1, y1, ...]`` in pixels.
        height (int): Image height.
        width (int): Image width.

    Returns:
        tuple: (area, bbox), from ``pycocotools.mask`` (``frPyObjects`` -> ``area``/``toBbox``).
    """
    rle = mask_utils.merge(mask_utils.frPyObjects([list(flat)], height, width))
    return float(mask_utils.area(rle)), [float(v) for v in mask_utils.toBbox(rle)]


def _overlaps(box: Box, others: Sequence[Box], margin: float) -> bool:
    return any(box[0] < o[2] + margin and o[0] < box[2] + margin and
               box[1] < o[3] + margin and o[1] < box[3] + margin for o in others)


def _sample_boxes(rng: np.random.Generator, size: int, count: int) -> List[Box]:
    """Up to ``count`` non-overlapping boxes with sides in [0.2, 0.45] * size."""
    boxes: List[Box] = []
    for _ in range(50 * count):
        if len(boxes) == count:
            break
        w, h = rng.uniform(0.2, 0.45, size=2) * size
        x0, y0 = rng.uniform(1, size - w - 1), rng.uniform(1, size - h - 1)
        box = (float(x0), float(y0), float(x0 + w), float(y0 + h))
        if not _overlaps(box, boxes, margin=2.0):
            boxes.append(box)
    return boxes


def draw_image(rng: np.random.Generator, size: int, max_shapes: int
               ) -> Tuple[np.ndarray, List[Tuple[int, List[Tuple[float, float]]]]]:
    """Draw one image.

    Returns:
        tuple: ((size, size, 3) uint8 RGB image, list of (class index, polygon)).
    """
    background = rng.integers(30, 120, size=3)
    pixels = np.clip(rng.normal(0, 12, size=(size, size, 3)) + background, 0, 255)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    shapes = []
    for box in _sample_boxes(rng, size, int(rng.integers(1, max_shapes + 1))):
        label = int(rng.integers(len(CLASSES)))
        polygon = shape_polygon(CLASSES[label], box, rng)
        draw.polygon(polygon, fill=tuple(int(c) for c in rng.integers(140, 256, size=3)))
        shapes.append((label, polygon))
    return np.asarray(image), shapes


def _annotation(ann_id: int, image_id: int, label: int,
                polygon: Sequence[Tuple[float, float]], size: int) -> dict:
    flat = [round(v, 2) for p in polygon for v in p]
    area, bbox = polygon_area_bbox(flat, size, size)
    return dict(id=ann_id, image_id=image_id, category_id=label + 1, iscrowd=0,
                bbox=bbox, area=area, segmentation=[flat])


def write_split(root: Path, split: str, num_images: int, size: int, max_shapes: int,
                rng: np.random.Generator) -> Path:
    """Write the images of one split and its COCO annotation file; returns the json path."""
    (root / split).mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id in range(num_images):
        pixels, shapes = draw_image(rng, size, max_shapes)
        file_name = f'{image_id:06d}.png'
        Image.fromarray(pixels).save(root / split / file_name)
        images.append(dict(id=image_id, file_name=file_name, width=size, height=size))
        for label, polygon in shapes:
            annotations.append(_annotation(len(annotations) + 1, image_id, label, polygon,
                                           size))
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=n, supercategory='shape')
                            for i, n in enumerate(CLASSES)])
    ann_file = root / 'annotations' / f'instances_{split}.json'
    ann_file.parent.mkdir(parents=True, exist_ok=True)
    ann_file.write_text(json.dumps(coco))
    return ann_file


def make_tiny_coco(root: str,
                   num_train: int = 16,
                   num_val: int = 8,
                   image_size: int = 128,
                   max_shapes: int = 3,
                   seed: int = 0,
                   val_same_as_train: bool = False) -> Dict[str, str]:
    """Write the tiny COCO-format data set under ``root`` (see the module docstring).

    Args:
        root (str): Output folder (created).
        num_train (int): Training images.
        num_val (int): Validation images (ignored if ``val_same_as_train``).
        image_size (int): Side of the square images, in pixels (>= 32).
        max_shapes (int): At most this many shapes per image (>= 1).
        seed (int): Random seed; the same seed writes identical files.
        val_same_as_train (bool): Write the training images again as the val split (for
            overfitting checks).

    Returns:
        dict: ``{'train': ann_file, 'val': ann_file}`` paths.
    """
    if image_size < 32:
        raise ValueError(f'image_size must be >= 32 (mmdet filters smaller images), '
                         f'got {image_size}')
    if max_shapes < 1 or num_train < 1 or (num_val < 1 and not val_same_as_train):
        raise ValueError('need max_shapes >= 1, num_train >= 1 and num_val >= 1, got '
                         f'{max_shapes}, {num_train}, {num_val}')
    out = Path(root)
    files = {}
    for split, count in zip(SPLITS, (num_train, num_val)):
        split_seed: Optional[int] = seed if (split == 'train' or val_same_as_train) else seed + 1
        count = num_train if val_same_as_train else count
        rng = np.random.default_rng(split_seed)
        files[split] = osp.abspath(write_split(out, split, count, image_size, max_shapes, rng))
    return files
