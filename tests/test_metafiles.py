"""Issue 20 item 6: `mim search mmstablekd` lists every config (a metafile per method folder,
listed in model-index.yml) with the paper's top-1 where one is published, quoted with its
source and marked as not measured here."""
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs'


def shipped_configs() -> set:
    return {str(p.relative_to(REPO)) for p in CONFIGS.rglob('*.py') if '_base_' not in p.parts}


def metafiles() -> list:
    return yaml.safe_load((REPO / 'model-index.yml').read_text())['Import']


def models() -> list:
    return [m for meta in metafiles() for m in yaml.safe_load((REPO / meta).read_text())['Models']]


def test_model_index_lists_one_metafile_per_method_folder():
    listed = sorted(metafiles())
    folders = sorted({p.parent for p in CONFIGS.rglob('*.py') if '_base_' not in p.parts})
    assert listed == sorted(str((f / 'metafile.yml').relative_to(REPO)) for f in folders)
    assert all((REPO / m).is_file() for m in listed)


def test_every_config_has_exactly_one_entry_and_every_entry_an_existing_config():
    entries = [m['Config'] for m in models()]
    assert len(entries) == len(set(entries))
    assert set(entries) == shipped_configs()
    names = [m['Name'] for m in models()]
    assert len(names) == len(set(names))
    collections = {c['Name'] for meta in metafiles()
                   for c in yaml.safe_load((REPO / meta).read_text())['Collections']}
    assert {m['In Collection'] for m in models()} <= collections


@pytest.mark.parametrize('model', [m for m in models() if 'Results' in m],
                         ids=lambda m: m['Name'])
def test_paper_numbers_are_quoted_from_the_config_with_their_source(model):
    (result, ) = model['Results']
    top1 = result['Metrics']['Top 1 Accuracy']
    text = (REPO / model['Config']).read_text()
    # the number is the one the config's own header quotes (with its source) ...
    assert re.search(rf'{top1:.2f}\b', text), (model['Config'], top1)
    # ... and the metafile says where it comes from and that it is not a measurement
    source = model['Metadata']['Results Source']
    assert 'paper' in source.lower() or 'README' in source
    assert 'not measured' in source


def test_stablekd_headline_numbers():
    by_name = {m['Name']: m for m in models()}
    top1 = {k: by_name[k]['Results'][0]['Metrics']['Top 1 Accuracy']
            for k in ('stablekd_resnet18_r34_cifar100', 'stablekd_vit-s8_vit-s16_imagenet')}
    assert top1 == {'stablekd_resnet18_r34_cifar100': 79.39,  # StableKD Table 5
                    'stablekd_vit-s8_vit-s16_imagenet': 77.72}  # StableKD Table 1


def test_mmengine_reads_the_index(tmp_path):
    """MMEngine's own metafile reader (used for `mmstablekd::` lookups) accepts the files."""
    from mmengine.config.utils import _get_cfg_metainfo
    mim = tmp_path / 'mmstablekd' / '.mim'
    mim.mkdir(parents=True)
    (mim / 'model-index.yml').symlink_to(REPO / 'model-index.yml')
    (mim / 'configs').symlink_to(CONFIGS)
    meta = _get_cfg_metainfo(str(tmp_path / 'mmstablekd'), 'stablekd/resnet18_r34_cifar100.py')
    assert meta['Config'] == 'configs/stablekd/resnet18_r34_cifar100.py'
