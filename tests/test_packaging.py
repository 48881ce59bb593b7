"""Packaging: the wheel and sdist build and install, configs ship inside the package and
resolve as ``mmstablekd::...``, requirements are ranges, one version source, per-config
work dirs (issue 13, item 2)."""
import ast
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import mmstablekd
from mmstablekd.apis.runner import default_work_dir
from mmstablekd.version import __version__

REPO = Path(__file__).resolve().parents[1]
# Top-level entries of a checkout that are not part of the source (built or generated).
NOT_SOURCE = {'.venv', '.git', 'build', 'dist', 'work_dirs', 'data', 'outputs', '.pytest_cache',
              '.ruff_cache', 'mmstablekd.egg-info'}


def method_configs() -> list:
    return sorted(p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)


def test_every_config_sets_its_own_work_dir_last():
    seen = {}
    for path in method_configs():
        rel = path.relative_to(REPO)
        last = ast.parse(path.read_text()).body[-1]
        assert isinstance(last, ast.Assign) and [t.id for t in last.targets] == ['work_dir'], \
            f'{rel}: the last statement must be work_dir = ...'
        work_dir = ast.literal_eval(last.value)
        expected = f'./work_dirs/{path.parent.name}_{path.stem}'
        assert work_dir == expected, f'{rel}: work_dir {work_dir!r}, expected {expected!r}'
        assert default_work_dir(str(rel)) == work_dir  # tools/train.py's name for it agrees
        assert work_dir not in seen, f'{rel} and {seen.get(work_dir)} share {work_dir}'
        seen[work_dir] = rel
    assert len(seen) >= 30


def _requirements(name: str) -> list:
    lines = (REPO / 'requirements' / name).read_text().splitlines()
    return [Requirement(line.split('#')[0].strip()) for line in lines
            if line.split('#')[0].strip()]


def test_install_requires_are_ranges_and_detection_is_an_extra():
    runtime = {r.name: r for r in _requirements('runtime.txt')}
    det = {r.name: r for r in _requirements('det.txt')}
    for req in [*runtime.values(), *det.values()]:
        assert not any(s.operator in ('==', '===') for s in req.specifier), f'pinned: {req}'
    # installing into an environment that has torch must never replace it
    assert all(s.operator == '>=' for s in runtime['torch'].specifier)
    assert runtime['mmpretrain'].specifier.contains('1.2.0')
    assert not runtime['mmpretrain'].specifier.contains('2.0.0')
    assert runtime['mmcv'].specifier.contains('2.1.0')
    assert not runtime['mmcv'].specifier.contains('2.2.0')
    assert {'mmdet', 'pycocotools'} <= set(det) and not {'mmdet', 'pycocotools'} & set(runtime)
    pins = _requirements('dev-pins.txt')
    assert pins and all(str(s.operator) == '==' for r in pins for s in r.specifier)
    assert 'requirements/dev-pins.txt' in (REPO / 'scripts' / 'setup.sh').read_text()


def test_version_has_one_source():
    assert mmstablekd.__version__ == __version__
    setup_py = (REPO / 'setup.py').read_text()
    assert __version__ not in setup_py and 'mmstablekd/version.py' in setup_py


def _copy_source(dst: Path) -> Path:
    def ignore(folder, names):
        top = Path(folder) == REPO
        return {n for n in names if n in ('__pycache__', '.mim') or (top and n in NOT_SOURCE)}
    shutil.copytree(REPO, dst, ignore=ignore, symlinks=True)
    return dst


def _run(cmd, cwd, env=None) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


INSTALLED_CHECK = textwrap.dedent('''
    import os, sys
    from pathlib import Path
    target = Path(sys.argv[1]).resolve()
    import mmstablekd
    pkg = Path(mmstablekd.__file__).resolve().parent
    assert pkg.parent == target, pkg
    for name in ('configs/stablekd/resnet18_r34_cifar100.py', 'configs/quickstart/_base_',
                 'tools/train.py', 'tools/test.py', 'tools/dist_test.sh', 'model-index.yml'):
        path = pkg / '.mim' / name
        assert path.exists() and not path.is_symlink(), path
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    Path('user_cfg.py').write_text(
        "_base_ = 'mmstablekd::stablekd/resnet18_r34_cifar100.py'\\n"
        "model = dict(teacher_ckpt=None)\\n")
    cfg = Config.fromfile('user_cfg.py')
    assert cfg.work_dir == './work_dirs/stablekd_resnet18_r34_cifar100', cfg.work_dir
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)  # mmengine's root registry, as the Runner does
    assert type(model).__name__ == 'StableKD' and model.num_recompositions == 2
    # the quickstart/benchmark harness ships with the tools and reads the package's configs
    sys.path.append(str(pkg / '.mim' / 'tools'))
    from kdbench.methods import config_dir, select
    assert config_dir().is_relative_to(pkg / '.mim' / 'configs'), config_dir()
    methods = select()
    assert Config.fromfile(config_dir() / methods[1].config).model.type == 'VanillaKD'
    assert not (pkg / 'apis' / 'quickstart.py').exists()  # not part of the library
    import subprocess
    help_text = subprocess.run([sys.executable, str(pkg / '.mim' / 'tools' / 'quickstart.py'),
                                '--help'], capture_output=True, text=True, check=True).stdout
    assert '(default: 6)' in help_text, help_text
    print('installed-ok', mmstablekd.__version__)
''')


def test_sdist_and_wheel_build_install_and_resolve_configs(tmp_path):
    src = _copy_source(tmp_path / 'src')
    _run([sys.executable, 'setup.py', '-q', 'sdist', '-d', tmp_path / 'sdist'], cwd=src)
    sdist = tmp_path / 'sdist' / f'mmstablekd-{__version__}.tar.gz'
    with tarfile.open(sdist) as tar:
        names = {n.split('/', 1)[1] for n in tar.getnames() if '/' in n}
        tar.extractall(tmp_path / 'unpacked', filter='data')
    for needed in ('setup.py', 'pyproject.toml', 'MANIFEST.in', 'LICENSE', 'README.md',
                   'model-index.yml', 'requirements.txt', 'requirements/runtime.txt',
                   'requirements/det.txt', 'mmstablekd/version.py', 'tools/dist_test.sh',
                   'configs/stablekd/resnet18_r34_cifar100.py'):
        assert needed in names, f'sdist lacks {needed}'
    # the wheel is built from the unpacked sdist: proves the sdist holds what it needs
    _run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation',
          '-w', tmp_path / 'wheels', tmp_path / 'unpacked' / f'mmstablekd-{__version__}'],
         cwd=tmp_path)
    wheel = tmp_path / 'wheels' / f'mmstablekd-{__version__}-py3-none-any.whl'
    assert wheel.is_file()
    target = tmp_path / 'target'
    _run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', target,
          wheel], cwd=tmp_path)
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target))
    out = _run([sys.executable, '-c', INSTALLED_CHECK, target], cwd=elsewhere, env=env)
    assert f'installed-ok {__version__}' in out


def test_mmstablekd_scope_falls_through_to_mmpretrain():
    """What a ``mmstablekd::`` base gives its dicts (``_scope_='mmstablekd'``) builds from
    MMEngine's root registry, as the Runner builds (the installed-wheel test reads such a
    base for real)."""
    from mmengine.config.utils import MODULE2PACKAGE
    from mmengine.registry import MODELS as ROOT_MODELS
    from mmengine.registry import init_default_scope
    from mmstablekd import registry
    assert MODULE2PACKAGE['mmstablekd'] == 'mmstablekd'
    node = registry.MODELS.children['mmstablekd']
    assert node.module_dict == {} and node.get('KDLoss') is registry.MODELS.get('KDLoss')
    assert registry.HOOKS.children['mmstablekd'].get('StableKDStageHook') is not None
    init_default_scope('mmpretrain')
    loss = ROOT_MODELS.build(dict(type='KDLoss', tau=2.0, _scope_='mmstablekd'))
    assert type(loss).__name__ == 'KDLoss' and loss.tau == 2.0


def test_dev_venv_resolves_mmstablekd_configs_from_any_directory(tmp_path):
    """`make setup` links the checkout into the venv's site-packages, so MMEngine's
    `get_installed_path` finds `.mim/configs` in the editable dev environment too."""
    import sysconfig
    link = Path(sysconfig.get_paths()['purelib']) / 'mmstablekd'
    if not link.is_symlink():
        pytest.skip('not the dev venv of scripts/setup.sh (a regular install is covered by '
                    'test_sdist_and_wheel_build_install_and_resolve_configs)')
    (tmp_path / 'mine.py').write_text(
        "_base_ = 'mmstablekd::stablekd/resnet18_r34_cifar100.py'\n"
        "work_dir = './work_dirs/mine'\n")
    code = ('import mmstablekd; from mmengine.config import Config; '
            "cfg = Config.fromfile('mine.py'); "
            "print(cfg.model.type, cfg.work_dir, cfg.train_cfg.max_epochs)")
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-3:] == ['StableKD', './work_dirs/mine', '60']
