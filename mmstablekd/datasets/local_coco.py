"""mmdet's ``CocoDataset`` with the missing-data message of :mod:`.local_data`.

Imported by the Mask R-CNN configs (``custom_imports``), not by ``import mmstablekd``: it
needs mmdet (``pip install "mmstablekd[det]"``) and registers into mmdet's registry.
"""
import os.path as osp
from typing import List, Optional

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .local_data import LocalDataMixin

COCO_GET_DATA = ('https://cocodataset.org/#download: the 2017 images '
                 '(http://images.cocodataset.org/zips/train2017.zip, .../val2017.zip) and '
                 'annotations (http://images.cocodataset.org/annotations/'
                 'annotations_trainval2017.zip), extracted under data_root')


@DATASETS.register_module()
class LocalCocoDataset(LocalDataMixin, CocoDataset):
    """mmdet's ``CocoDataset``; a missing annotation file or image folder raises one message
    naming the path, the layout and the download page (nothing is downloaded)."""

    GET_DATA = COCO_GET_DATA

    def __init__(self, *args, get_data: Optional[str] = None, **kwargs):
        self._init_get_data(get_data)
        super().__init__(*args, **kwargs)

    def missing_paths(self) -> List[str]:
        needed = [(self.ann_file, osp.isfile), (self.data_prefix.get('img', ''), osp.isdir)]
        return [path for path, exists in needed if path and not exists(path)]

    def layout(self) -> str:
        return (f'{self.ann_file} (COCO instance annotations) and '
                f"{self.data_prefix.get('img', '')}<image files>")
