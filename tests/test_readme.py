"""The README is a front page and docs/ holds the long stories: what of that a test can hold.

The README stays within 250 lines; every relative link and picture in it and in docs/*.md points
at a file that exists (and a #section at a heading that exists); every picture in docs/ is shown
somewhere and every docs page is linked from the README; and no page tells history ("this
round"), which is what git log is for.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
PICTURES = sorted(p for p in (REPO / "docs").iterdir() if p.suffix in {".png", ".jpg", ".svg"})
MAX_README_LINES = 250
HISTORY = re.compile(r"\b(this|previous|last|earlier|next) rounds?\b|\bround before\b", re.I)

_MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HTML_SOURCE = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.I)
_FENCED = re.compile(r"```.*?```", re.S)
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def targets(page: Path) -> list[str]:
    """Every link and picture address on a markdown page, code spans and blocks left out."""
    text = _CODE.sub("", page.read_text(encoding="utf-8"))
    return _MARKDOWN_LINK.findall(text) + _HTML_SOURCE.findall(text)


def is_relative(address: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", address, re.I) and not address.startswith("//")


def anchors(page: Path) -> set[str]:
    """GitHub's ids for a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    text = _FENCED.sub("", page.read_text(encoding="utf-8"))
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_the_readme_is_a_front_page_of_at_most_250_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines; move the long story to a page under docs/")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_and_picture_exists(page):
    missing = []
    for address in targets(page):
        if not is_relative(address):
            continue
        path, _, anchor = address.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            missing.append(address)
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            missing.append(f"{address} (no such heading)")
    assert not missing, f"{page.name} points at what is not there: {missing}"


def test_every_picture_in_docs_is_shown_and_every_page_is_linked_from_the_readme():
    shown = {(page.parent / address.partition("#")[0]).resolve()
             for page in PAGES for address in targets(page) if is_relative(address)}
    unshown = [p.name for p in PICTURES if p.resolve() not in shown]
    assert not unshown, f"pictures in docs/ that no page shows: {unshown}"
    from_readme = {(REPO / a.partition("#")[0]).resolve()
                   for a in targets(README) if is_relative(a)}
    unlinked = [p.name for p in PAGES[1:] if p.resolve() not in from_readme]
    assert not unlinked, f"docs pages the README does not link to: {unlinked}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_page_tells_history(page):
    found = [line.strip() for line in page.read_text(encoding="utf-8").splitlines()
             if HISTORY.search(line)]
    assert not found, f"{page.name} tells history (git log is for that): {found}"


def test_the_link_checker_finds_a_missing_file_and_a_missing_heading(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## The page: `serve.py`\n\n"
                    "[ok](#title) [gone](other.md) ![pic](missing.png) [bad anchor](#nowhere) "
                    "`[code](not-a-link.md)` [web](https://example.org)\n")
    relative = [a for a in targets(page) if is_relative(a)]
    assert relative == ["#title", "other.md", "missing.png", "#nowhere"]
    assert anchors(page) == {"title", "the-page-servepy"}
