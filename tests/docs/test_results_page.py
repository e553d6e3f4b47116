"""``docs/results.md`` is what ``benchmarks/results_page.py`` makes of the result files now,
every number the README quotes is on it, and the documentation's links resolve."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / 'docs' / 'results.md'
README = ROOT / 'README.md'
#: the user documentation whose links this checks (docs/ARCHITECTURE.md is the code's map)
DOCS = [README, ROOT / 'docs' / 'getting_started.md', ROOT / 'docs' / 'method.md', PAGE,
        *(ROOT / 'docs' / f'{name}.md' for name in ('install', 'own_data', 'benchmarks',
                                                     'prototype_api')),
        *sorted((ROOT / 'configs').glob('*/README.md'))]
NUMBER = re.compile(r'(?<![\w.])\d+(?:\.\d+)?(?!\w)')
MEAN_STD = re.compile(r'\d+(?:\.\d+)? ± \d+(?:\.\d+)?')
LINK = re.compile(r'\]\(([^)\s]+)\)')


def results_page() -> ModuleType:
    """``benchmarks/results_page.py`` as a module (``benchmarks/`` is not a package)."""
    spec = importlib.util.spec_from_file_location('results_page',
                                                  ROOT / 'benchmarks' / 'results_page.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_numbers(text: str) -> set[str]:
    """The numbers in the Markdown table rows of ``text``."""
    rows = [line for line in text.splitlines() if line.startswith('|')]
    return {n for row in rows for n in NUMBER.findall(row)}


def anchors(path: Path, slug) -> set[str]:
    """The heading anchors of a Markdown file (GitHub's, with -1, -2 for repeats)."""
    seen: dict[str, int] = {}
    fence = False
    for line in path.read_text(encoding='utf-8').splitlines():
        fence ^= line.startswith('```')
        match = re.match(r'#{1,6} (.+)', line)
        if match and not fence:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            if count:
                seen[f'{base}-{count}'] = 1
    return set(seen)


def test_committed_page_is_what_the_script_makes():
    page = results_page()
    assert PAGE.read_text(encoding='utf-8') == page.render(), (
        'docs/results.md is out of date: run .venv/bin/python benchmarks/results_page.py')


def test_check_mode_tells_a_stale_page(tmp_path):
    page = results_page()
    out = tmp_path / 'results.md'
    out.write_text('# Results\n\nold\n', encoding='utf-8')
    assert page.main(['--check', '--out', str(out)]) == 1
    assert page.main(['--out', str(out)]) == 0
    assert page.main(['--check', '--out', str(out)]) == 0


def test_every_result_file_is_on_the_page():
    text = PAGE.read_text(encoding='utf-8')
    results = ROOT / 'benchmarks' / 'results'
    for path in sorted(p for p in results.rglob('*') if p.is_file()):
        name = path.relative_to(results).as_posix()
        assert f'(../benchmarks/results/{name})' in text, f'{name} is not linked'
    page_lines = set(text.splitlines())
    for path in sorted(results.glob('*.md')):  # copied whole, headings moved down
        for line in path.read_text(encoding='utf-8').splitlines():
            if re.match(r'#{1,6} ', line):
                title = line.split(' ', 1)[1]
                assert any(p.startswith('#') and p.endswith('# ' + title)
                           for p in page_lines), f'{path.name}: heading {title!r}'
            else:
                assert line in page_lines, f'{path.name}: {line[:60]!r} is not on the page'


def test_page_says_what_the_numbers_are():
    head = PAGE.read_text(encoding='utf-8')[:1500]
    assert 'toy-scale CPU measurements unless a file says otherwise' in head
    assert '.venv/bin/python benchmarks/results_page.py' in head


def test_readme_table_numbers_are_on_the_page():
    readme = table_numbers(README.read_text(encoding='utf-8'))
    assert {'0.214', '86.11', '72.22'} <= readme  # the summary table is there
    missing = readme - set(NUMBER.findall(PAGE.read_text(encoding='utf-8')))
    assert not missing, f'README table numbers not in docs/results.md: {sorted(missing)}'


def test_every_mean_and_std_the_docs_quote_is_on_the_page():
    page = PAGE.read_text(encoding='utf-8')
    for doc in (d for d in DOCS if d != PAGE):
        quoted = set(MEAN_STD.findall(doc.read_text(encoding='utf-8')))
        missing = sorted(q for q in quoted if q not in page)
        assert not missing, f'{doc.relative_to(ROOT)} quotes {missing}, not in docs/results.md'


def test_links_between_the_docs_resolve():
    slug = results_page().slug
    for doc in DOCS:
        for target in LINK.findall(doc.read_text(encoding='utf-8')):
            if '://' in target or target.startswith('#'):
                continue
            file, _, anchor = target.partition('#')
            path = (doc.parent / file).resolve()
            where = f'{doc.relative_to(ROOT)} -> {target}'
            assert path.exists(), f'{where}: no such file'
            if anchor:
                assert anchor in anchors(path, slug), f'{where}: no such heading'


def test_readme_fault_line_has_the_fault_suite_counts():
    readme = README.read_text(encoding='utf-8')
    record = ROOT / 'benchmarks' / 'results' / 'fault_suite.json'
    if not record.exists():
        assert 'FAULT_SUITE_LINE' in readme
        return
    counts = json.loads(record.read_text(encoding='utf-8'))
    start = readme.index('bad inputs tried') - 10
    line = ' '.join(readme[start:readme.index('benchmarks/fault_suite.py', start)].split())
    assert f"{counts['bad_input']['tests']} bad inputs tried" in line, line
    assert f"{counts['fault']['passed']} faults survived" in line, line
    if counts['bad_input']['passed'] < counts['bad_input']['tests']:
        assert str(counts['bad_input']['passed']) in line, 'the line hides a failing case'
