"""Check that the README and docs/ name only things that exist (used by tests/test_docs.py).

What is checked, per Markdown file:

- every repository path (``configs/...``, ``tools/...``, ``mmstablekd/...``, ``docs/...``,
  ``tests/...``, ...; ``{a,b}`` alternatives and ``*`` globs expanded; ``<placeholder>`` paths
  skipped) exists;
- every ``mmstablekd::``, ``mmpretrain::`` and ``mmdet::`` config path exists in that package;
- every file name written alone in backticks (``crd_kd.py``) exists somewhere in the repository;
- every ``--flag`` is accepted by the parser of the tool (``tools/*.py``, ``benchmarks/*.py``)
  it belongs to: the tool named before it
  on the same (backslash-joined) line, else the tools named in the section heading, else any
  tool (lines that run pip, pytest, mim, ... are left alone);
- every relative link (and ``#anchor``) resolves.

HTML comments (notes to editors) are not checked.
"""
import argparse
import importlib.util
import re
import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Set, Tuple

REPO = Path(__file__).resolve().parents[1]
# Shell launchers pass their extra arguments to these Python tools.
LAUNCHERS = {'dist_train.sh': 'train', 'slurm_train.sh': 'train', 'dist_test.sh': 'test',
             'slurm_test.sh': 'test'}
REPO_DIRS = ('configs', 'tools', 'mmstablekd', 'benchmarks', 'requirements', 'scripts', 'tests',
             'docs', r'\.ci')
PATH_RE = re.compile(r'(?<![\w./:-])((?:' + '|'.join(REPO_DIRS) + r')/[\w.{},*/<>-]*[\w*}/>])')
SCHEME_RE = re.compile(r'\b(mmstablekd|mmpretrain|mmdet)::([\w./-]+\.py)')
BARE_RE = re.compile(r'`([\w.-]+\.py)`')
TOOL_RE = re.compile(r'(?:tools|benchmarks)/([\w-]+)\.(py|sh)\b')
FLAG_RE = re.compile(r'(?<![\w-])--[a-zA-Z][\w-]*')
LINK_RE = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
HEADING_RE = re.compile(r'^(#{1,6})\s+(.*)$')
COMMENT_RE = re.compile(r'<!--.*?-->', re.S)
# Lines that run other programs, whose flags are not ours.
EXTERNAL_RE = re.compile(r'\b(pip|pytest|ruff|mim|torchrun|srun|git|wget)\b')
# File names that only exist after a run (written by the tools).
RUNTIME_NAMES = re.compile(r'student_epoch_\w+\.py$')


class _Parser(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        super().__init__('parser captured')
        self.parser = parser


def _capture(self, *args, **kwargs):
    raise _Parser(self)


def tool_parser(path: Path) -> Optional[argparse.ArgumentParser]:
    """The ``argparse`` parser of ``tools/<name>.py``: its ``parse_args(argv)`` or ``main(argv)``
    is run with ``ArgumentParser.parse_args`` replaced by a stub that hands back the parser."""
    if str(path.parent) not in sys.path:  # as `python tools/x.py` has it (tools/ helpers)
        sys.path.append(str(path.parent))
    spec = importlib.util.spec_from_file_location(f'docs_tool_{path.stem}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    saved = argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args
    argparse.ArgumentParser.parse_args = argparse.ArgumentParser.parse_known_args = _capture
    try:
        for name in ('parse_args', 'main'):
            if callable(getattr(module, name, None)):
                getattr(module, name)([])
    except _Parser as captured:
        return captured.parser
    finally:
        argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args = saved
    return None


def tool_flags(repo: Path = REPO) -> Dict[str, Set[str]]:
    """``{tool stem: its option strings}`` for every command-line tool: ``tools/*.py`` and the
    benchmark scripts ``benchmarks/*.py``."""
    flags = {}
    for path in sorted([*repo.glob('tools/*.py'), *repo.glob('benchmarks/*.py')]):
        parser = tool_parser(path)
        flags[path.stem] = ({s for a in parser._actions for s in a.option_strings}
                            if parser else set())
    return flags


def expand_braces(pattern: str) -> List[str]:
    """``a/{b,c}/d`` -> ``['a/b/d', 'a/c/d']`` (nested and repeated groups too)."""
    match = re.search(r'\{([^{}]*)\}', pattern)
    if not match:
        return [pattern]
    head, tail = pattern[:match.start()], pattern[match.end():]
    return [p for alt in match.group(1).split(',') for p in expand_braces(head + alt + tail)]


def github_slugs(text: str) -> Set[str]:
    """Anchors GitHub gives the headings of a Markdown text."""
    slugs, seen = set(), {}
    for _, line, in_fence in markdown_lines(text):
        heading = None if in_fence else HEADING_RE.match(line)
        if not heading:
            continue
        title = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading.group(2)).strip().lower()
        slug = re.sub(r'[^\w\- ]', '', title).replace(' ', '-')
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        slugs.add(slug if count == 0 else f'{slug}-{count}')
    return slugs


def markdown_lines(text: str) -> Iterator[Tuple[int, str, bool]]:
    """(first line number, logical line, inside a code fence); ``\\``-continued lines joined."""
    in_fence, buffer, start = False, [], 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith('```'):
            in_fence = not in_fence
            continue
        if not buffer:
            start = number
        if line.rstrip().endswith('\\'):
            buffer.append(line.rstrip()[:-1])
            continue
        yield start, ' '.join(buffer + [line]), in_fence
        buffer = []


def _package_configs(package: str, repo: Path) -> Optional[Path]:
    if package == 'mmstablekd':
        return repo / 'configs'
    spec = importlib.util.find_spec(package)
    return Path(spec.origin).parent / '.mim' / 'configs' if spec and spec.origin else None


def _path_exists(rel: str, repo: Path, exists: Callable[[Path], bool]) -> bool:
    for candidate in expand_braces(rel):
        if '*' in candidate:
            if not any(exists(p) for p in repo.glob(candidate)):
                return False
        elif not exists(repo / candidate):
            return False
    return True


def _bare_exists(name: str, repo: Path, exists: Callable[[Path], bool]) -> bool:
    if RUNTIME_NAMES.search(name) or exists(repo / name):
        return True
    return any(exists(p) for top in ('configs', 'tools', 'mmstablekd', 'tests')
               for p in (repo / top).rglob(name))


def _tools_named(text: str) -> List[str]:
    return [LAUNCHERS.get(f'{m.group(1)}.sh', None) if m.group(2) == 'sh' else m.group(1)
            for m in TOOL_RE.finditer(text)]


def _check_flags(line: str, section: List[str], flags: Dict[str, Set[str]]) -> List[str]:
    problems, current = [], None
    events = sorted([(m.start(), 'tool', m) for m in TOOL_RE.finditer(line)]
                    + [(m.start(), 'flag', m) for m in FLAG_RE.finditer(line)],
                    key=lambda e: e[0])
    for _, kind, match in events:
        if kind == 'tool':
            name = match.group(1)
            current = [LAUNCHERS.get(f'{name}.sh')] if match.group(2) == 'sh' else [name]
            current = [t for t in current if t] or None  # a launcher we do not know: unchecked
            continue
        flag = match.group(0)
        if current is None and not section and EXTERNAL_RE.search(line):
            continue
        owners = current or section or sorted(flags)
        if not any(flag in flags.get(tool, set()) for tool in owners):
            where = ', '.join(f'tools/{t}.py' for t in owners) if (current or section) \
                else 'any tool'
            problems.append(f'flag {flag} is not accepted by {where}')
    return problems


def _check_link(target: str, source: Path, repo: Path, own_slugs: Set[str],
                exists: Callable[[Path], bool]) -> Optional[str]:
    if re.match(r'[a-z]+:', target):
        return None  # http(s), mailto, ...
    path, _, anchor = target.partition('#')
    if not path:
        return None if anchor in own_slugs else f'link {target}: no such heading'
    resolved = (source.parent / path).resolve()
    if not exists(resolved):
        return f'link {target}: {path} does not exist'
    if anchor and resolved.suffix == '.md' and anchor not in github_slugs(resolved.read_text()):
        return f'link {target}: no heading #{anchor} in {path}'
    return None


def check_text(text: str, source: Path, flags: Dict[str, Set[str]], repo: Path = REPO,
               exists: Callable[[Path], bool] = Path.exists) -> List[str]:
    """Problems of one Markdown text, as ``'<file>:<line>: <what>'`` strings.

    Args:
        text (str): The Markdown.
        source (Path): Its file (relative links resolve from its folder).
        flags (dict): ``{tool stem: option strings}``, see :func:`tool_flags`.
        repo (Path): Repository root.
        exists (callable): Whether a path exists (tests pass one that hides a file).
    """
    problems, section = [], []
    text = COMMENT_RE.sub(lambda m: '\n' * m.group(0).count('\n'), text)  # notes to editors
    own_slugs = github_slugs(text)
    name = source.relative_to(repo) if source.is_relative_to(repo) else source
    for number, line, in_fence in markdown_lines(text):
        found = []
        heading = None if in_fence else HEADING_RE.match(line)
        if heading:
            section = [t for t in _tools_named(heading.group(2)) if t]
        names = re.sub(r'\]\([^)\s]+\)', '](...)', line)  # link targets: checked as links
        for rel in PATH_RE.findall(names):
            if '.mim' not in rel and '<' not in rel and not _path_exists(rel, repo, exists):
                found.append(f'{rel} does not exist')
        for package, rel in SCHEME_RE.findall(names):
            root = _package_configs(package, repo)
            if root is not None and not _path_exists(rel, root, exists):
                found.append(f'{package}::{rel} does not exist')
        for bare in BARE_RE.findall(names):
            if not _bare_exists(bare, repo, exists):
                found.append(f'{bare} does not exist in the repository')
        found += _check_flags(line, section, flags)
        if not in_fence:
            for target in LINK_RE.findall(line):
                problem = _check_link(target, source, repo, own_slugs, exists)
                if problem:
                    found.append(problem)
        problems += [f'{name}:{number}: {p}' for p in found]
    return problems


def doc_files(repo: Path = REPO) -> List[Path]:
    """README.md and every Markdown file under docs/."""
    return [repo / 'README.md', *sorted((repo / 'docs').rglob('*.md'))]


def check_docs(repo: Path = REPO, flags: Optional[Dict[str, Set[str]]] = None) -> List[str]:
    """Problems of the README and docs/ (empty when everything they name exists)."""
    flags = tool_flags(repo) if flags is None else flags
    return [p for path in doc_files(repo)
            for p in check_text(path.read_text(), path, flags, repo)]


__all__ = ['check_docs', 'check_text', 'doc_files', 'expand_braces', 'github_slugs',
           'tool_flags']
