"""The README and docs/ name only configs, tools, flags, files and links that exist, and
docs/model_zoo.md is what tools/gen_model_zoo.py generates from the metafiles."""
import re

import pytest

from conftest import REPO, load_tool
from docs_check import check_docs, check_text, expand_braces, github_slugs, tool_flags


@pytest.fixture(scope='module')
def flags():
    return tool_flags()


def test_readme_and_docs_name_only_what_exists(flags):
    problems = check_docs(flags=flags)
    assert not problems, 'stale names in README.md / docs/:\n' + '\n'.join(problems)


def test_tool_flags_come_from_the_real_parsers(flags):
    assert {'--resume', '--amp', '--cfg-options', '--work-dir'} <= flags['train']
    assert {'--out', '--out-item', '--tta'} <= flags['test']
    assert '--backbone-only' in flags['convert_student']
    assert '--module' in flags['plot_iboe']  # a parser built inside main()
    assert '--check' in flags['gen_model_zoo']


def test_checker_reports_missing_config_flag_file_and_link(flags):
    text = '\n'.join([
        '# Title',
        'Train with `configs/stablekd/no_such_config.py` or '
        '`configs/{kd,nope}/resnet18_r34_cifar100.py`.',
        '```bash',
        'python tools/train.py configs/stablekd/resnet18_r34_cifar100.py \\',
        '    --amp --no-such-flag',
        'bash tools/dist_train.sh configs/kd/resnet18_r34_cifar100.py 8 --bogus-launch',
        '```',
        'Base: `mmstablekd::kd/missing.py`, recipe `no_such_recipe.py`, tool `tools/nope.py`.',
        'See [the manual](docs/nope.md), [tools](docs/tools.md#no-such-heading), [up](#title).',
        'A flag no tool has: `--definitely-not-a-flag`.',
    ])
    problems = check_text(text, REPO / 'README.md', flags)
    joined = '\n'.join(problems)
    for expected in ['configs/stablekd/no_such_config.py does not exist',
                     'configs/{kd,nope}/resnet18_r34_cifar100.py does not exist',
                     'flag --no-such-flag is not accepted by tools/train.py',
                     'flag --bogus-launch is not accepted by tools/train.py',
                     'mmstablekd::kd/missing.py does not exist',
                     'no_such_recipe.py does not exist in the repository',
                     'tools/nope.py does not exist',
                     'link docs/nope.md: docs/nope.md does not exist',
                     'link docs/tools.md#no-such-heading: no heading #no-such-heading',
                     'flag --definitely-not-a-flag is not accepted by any tool']:
        assert expected in joined, f'{expected!r} not reported in:\n{joined}'
    assert '--amp' not in joined and '#title' not in joined
    assert len(problems) == 10, joined
    assert problems[0].startswith('README.md:2: ')


def test_checker_fails_when_a_named_config_is_removed(flags):
    """Hiding one config the README names (as if it were deleted) makes the check fail."""
    readme = (REPO / 'README.md').read_text()
    removed = 'configs/kd/resnet18_r34_mmpretrain-cifar10.py'
    assert removed in readme
    before = set(check_text(readme, REPO / 'README.md', flags))
    after = set(check_text(readme, REPO / 'README.md', flags,
                           exists=lambda p: p != REPO / removed and p.exists()))
    new = after - before
    assert new and all(f'{removed} does not exist' in p for p in new)


def test_checker_fails_when_a_named_flag_is_removed(flags):
    """Dropping a flag from a tool's parser makes the pages that name it fail."""
    page = REPO / 'docs' / 'tools.md'
    text = page.read_text()
    before = set(check_text(text, page, flags))
    fewer = dict(flags, train=flags['train'] - {'--no-persistent-workers'})
    new = set(check_text(text, page, fewer)) - before
    assert new and all('--no-persistent-workers is not accepted by tools/train.py' in p
                       for p in new)


def test_model_zoo_page_is_generated_from_the_metafiles():
    generator = load_tool('gen_model_zoo')
    page = (REPO / 'docs' / 'model_zoo.md').read_text()
    assert page == generator.render(), 'run: python tools/gen_model_zoo.py'
    configs = {p.relative_to(REPO).as_posix() for p in (REPO / 'configs').rglob('*.py')
               if '_base_' not in p.parts}
    named = set(re.findall(r'`(configs/[^`]+\.py)`', page))
    assert named == configs  # every config once, nothing else


def test_model_zoo_takes_paper_numbers_from_a_metafile(tmp_path):
    generator = load_tool('gen_model_zoo')
    (tmp_path / 'configs' / 'kd').mkdir(parents=True)
    (tmp_path / 'configs' / 'kd' / 'a.py').write_text('# KD run A. More text.\n')
    (tmp_path / 'configs' / 'kd' / 'b.py').write_text('# KD run B.\n')
    (tmp_path / 'configs' / 'kd' / 'metafile.yml').write_text(
        'Collections:\n  - Name: KD\n    Paper: {Title: Distilling, URL: "https://x"}\n'
        'Models:\n  - Name: a\n    In Collection: KD\n    Config: configs/kd/a.py\n'
        '    Metadata: {Training Data: CIFAR-100, Results Source: "Table 4; quoted from it"}\n'
        '    Results:\n      - Task: Image Classification\n        Dataset: CIFAR-100\n'
        '        Metrics: {Top 1 Accuracy: 76.19}\n')
    (tmp_path / 'model-index.yml').write_text('Import:\n  - configs/kd/metafile.yml\n')
    page = generator.render(tmp_path)
    assert '## KD\n\nPaper: [Distilling](https://x)' in page
    assert '| `configs/kd/a.py` | CIFAR-100 | 76.19 | Table 4 | – |' in page
    assert '| `configs/kd/b.py` | KD run B. |' in page and 'KD run A.' not in page


def test_readme_is_short_and_shows_the_quickstart_plot():
    readme = (REPO / 'README.md').read_text()
    assert len(readme.splitlines()) <= 150
    images = re.findall(r'!\[[^\]]*\]\(([^)]+\.png)\)', readme)
    assert images and all((REPO / image).is_file() for image in images)
    commands = re.findall(r'^make (\w+)', readme, flags=re.M)  # the two commands, as run
    assert commands[:2] == ['demo', 'test']
    assert 'make test' in (REPO / '.ci' / 'run').read_text()  # README's test command is CI's


def test_helpers():
    assert expand_braces('a/{b,c}/d{1,2}') == ['a/b/d1', 'a/b/d2', 'a/c/d1', 'a/c/d2']
    assert github_slugs('# A `tools/x.py` (b)\n```\n# not a heading\n```\n## A tools/x.py b') \
        == {'a-toolsxpy-b', 'a-toolsxpy-b-1'}


def test_every_docs_page_is_linked_from_the_readme():
    readme = (REPO / 'README.md').read_text()
    for page in sorted((REPO / 'docs').glob('*.md')):
        assert f'(docs/{page.name})' in readme, f'README does not link docs/{page.name}'

