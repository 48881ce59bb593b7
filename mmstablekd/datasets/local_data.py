"""Data sets that read local files only and say what to do when the files are missing.

mmpretrain's ``CIFAR10``/``CIFAR100`` download their archive when it is missing (their
``download`` defaults to ``True``), and a missing ImageNet or folder data set fails with a
bare ``FileNotFoundError`` from a directory scan. The ``Local*`` data sets below are those
classes, unchanged but for a check that runs when the data set is built (before a single
training step): if a file or folder the data set needs is missing, one ``FileNotFoundError``
names the path, the expected layout and where a person gets the data. Nothing is downloaded
and no folder is created. The shipped configs use them; a user's config that keeps
mmpretrain's types behaves as in mmpretrain.

Every ``Local*`` data set takes ``get_data`` (str, optional): the "how to get it" line of the
message, overriding the default (a URL). The quickstart configs set it to the command that
writes their digits.
"""
import os.path as osp
from typing import List, Optional

from mmpretrain.datasets import CIFAR10, CIFAR100, CustomDataset, ImageNet

from mmstablekd.registry import DATASETS

CIFAR_LAYOUT = '{root}/{folder}/ ({files}): the extracted {archive}'
IMAGENET_URL = ('https://image-net.org/download-images.php (ILSVRC2012 train and validation '
                'images; sign-in required); prepare the val folder with one sub-folder per class '
                '(or meta/val.txt), as in mmpretrain\'s "Prepare Dataset" docs: '
                'https://mmpretrain.readthedocs.io/en/latest/user_guides/dataset_prepare.html')
FOLDER_LAYOUT = ('{prefix}/<class name>/<image> (one sub-folder per class), or the images '
                 'listed in an ann_file of "<relative path> <label>" lines')


def missing_data_message(dataset: str, missing: str, layout: str, get_data: str) -> str:
    """The one message a ``Local*`` data set raises when ``missing`` does not exist."""
    return (f'{dataset}: {missing} does not exist. Expected layout: {layout}. Get the data: '
            f'{get_data}. Nothing is downloaded automatically; if the data is elsewhere, set '
            "the data set's data_root (e.g. --cfg-options "
            'train_dataloader.dataset.data_root=PATH val_dataloader.dataset.data_root=PATH).')


class LocalDataMixin:
    """Check the data set's files before mmpretrain reads them (see module doc).

    Subclasses define :meth:`missing_paths` and :meth:`layout`, and ``GET_DATA``.
    """

    GET_DATA = ''

    def _init_get_data(self, get_data: Optional[str]) -> None:
        if get_data is not None and not isinstance(get_data, str):
            raise TypeError(f'dataset.get_data must be a string, got {get_data!r}')
        self.get_data = get_data or self.GET_DATA

    def missing_paths(self) -> List[str]:
        """Paths the data set needs that do not exist (empty: all present)."""
        raise NotImplementedError

    def layout(self) -> str:
        """What the data set expects on disk, with its actual paths."""
        raise NotImplementedError

    def require_local_data(self) -> None:
        """Raise the :func:`missing_data_message` unless every needed path exists."""
        missing = self.missing_paths()
        if missing:
            raise FileNotFoundError(missing_data_message(
                type(self).__name__, missing[0], self.layout(), self.get_data))

    def load_data_list(self):
        """Check the files (see :meth:`require_local_data`), then load as the parent does."""
        self.require_local_data()
        return super().load_data_list()


class _LocalCIFARMixin(LocalDataMixin):
    """The CIFAR archives' extracted files; ``download=True`` is refused."""

    def __init__(self, *args, download: bool = False, get_data: Optional[str] = None,
                 **kwargs):
        if download:
            raise ValueError(f'dataset.download=True: {type(self).__name__} never downloads; '
                             f'get the archive from {self.url} and extract it under data_root '
                             '(or use mmpretrain\'s own type, which downloads)')
        self._init_get_data(get_data)
        super().__init__(*args, download=False, **kwargs)

    def _needed_files(self) -> List[str]:
        split = self.train_list if self.split == 'train' else self.test_list
        names = [name for name, _ in split] + [self.meta['filename']]
        return [osp.join(self.data_prefix['root'], self.base_folder, n) for n in names]

    def missing_paths(self) -> List[str]:
        return [p for p in self._needed_files() if not osp.isfile(p)]

    def layout(self) -> str:
        files = ', '.join(osp.basename(p) for p in self._needed_files())
        return CIFAR_LAYOUT.format(root=self.data_prefix['root'], folder=self.base_folder,
                                   files=files, archive=self.filename)


@DATASETS.register_module()
class LocalCIFAR10(_LocalCIFARMixin, CIFAR10):
    """mmpretrain's ``CIFAR10`` from local files only (see module doc)."""

    GET_DATA = CIFAR10.url + ' (extract it under data_root)'


@DATASETS.register_module()
class LocalCIFAR100(_LocalCIFARMixin, CIFAR100):
    """mmpretrain's ``CIFAR100`` from local files only (see module doc)."""

    GET_DATA = CIFAR100.url + ' (extract it under data_root)'


class _LocalFolderMixin(LocalDataMixin):
    """A folder data set (mmpretrain ``CustomDataset`` layout) or its ``ann_file``."""

    def __init__(self, *args, get_data: Optional[str] = None, **kwargs):
        self._init_get_data(get_data)
        super().__init__(*args, **kwargs)

    def missing_paths(self) -> List[str]:
        if self.ann_file and not osp.isfile(self.ann_file):
            return [self.ann_file]
        if not self.ann_file and not osp.isdir(self.img_prefix):
            return [self.img_prefix]
        return []

    def layout(self) -> str:
        return FOLDER_LAYOUT.format(prefix=self.img_prefix)


@DATASETS.register_module()
class LocalImageNet(_LocalFolderMixin, ImageNet):
    """mmpretrain's ``ImageNet`` with the missing-data message (see module doc)."""

    GET_DATA = IMAGENET_URL


@DATASETS.register_module()
class LocalCustomDataset(_LocalFolderMixin, CustomDataset):
    """mmpretrain's ``CustomDataset`` with the missing-data message (see module doc); set
    ``get_data`` to say how the folder is made."""

    GET_DATA = 'create the folder (see mmpretrain\'s CustomDataset docs)'
