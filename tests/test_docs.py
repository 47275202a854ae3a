"""The documentation stays true to the repository.

- Nothing in the repository points at the reference notes its authors worked from: users never have
  them, so docs/science.md is the project's own account of the study.
- Every citation of a documentation section in the code, config, schema and docs
  (``docs/science.md, "Evaluation"``, ``docs/performance.md, "The cost model"``) names a ``##``
  heading that the cited page has.
- docs/science.md has every section the code is written against.
- No table cell of docs/*.md runs past ``MAX_CELL`` characters: a long cell is prose that belongs
  in a paragraph, and unreadable in an editor.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
# Assembled here, so that this file itself never contains what it looks for.
FORBIDDEN = ("SCIENCE" + ".md", "shared" + "/")
# The sections of docs/science.md that the code cites (and the lead keeps): each a ``##`` heading.
SCIENCE_SECTIONS = ("Question", "Stimulus", "Noise and task", "Networks", "Training", "Reference models",
                    "Evaluation", "Prediction-error coding", "Key context", "Other composers", "Listening",
                    "Units")
MAX_CELL = 200
# Where the repository is not a git checkout: what a walk of it skips (environments, outputs, caches).
UNTRACKED = {".git", ".venv", "venv", "data", "results", ".snakemake", "__pycache__", ".pytest_cache"}

# A citation: a page of docs/, a comma, then one or more quoted section names joined by commas or "and",
# across line breaks and comment markers.
QUOTED = r'"[^"\n]+"'
GAP = r"(?:\s|#)*"
CITATION = re.compile(rf"docs/([\w.-]+\.md),{GAP}({QUOTED}(?:{GAP}(?:,|and){GAP}{QUOTED})*)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$")


def repo_files() -> list[Path]:
    """The tracked files (``git ls-files``), or every file of a walk where git is missing."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True,
                             timeout=60).stdout
        names = [n for n in out.decode("utf-8", "replace").split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        names = []
    if names:
        return [p for p in (REPO / n for n in names) if p.is_file()]
    return [p for p in REPO.rglob("*") if p.is_file() and not UNTRACKED & set(p.relative_to(REPO).parts)
            and not any(part.endswith(".egg-info") for part in p.relative_to(REPO).parts)]


def text_of(path: Path) -> str | None:
    """A file's text, or None for a binary file."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def markdown_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of a Markdown file outside fenced code blocks."""
    out, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            out.append((number, line))
    return out


def headings(path: Path, level: int = 2) -> set[str]:
    """The titles of a Markdown file's headings of ``level``."""
    found = set()
    for _, line in markdown_lines(path):
        m = HEADING.match(line)
        if m and len(m.group(1)) == level:
            found.add(m.group(2))
    return found


def cells(line: str) -> list[str]:
    """The cells of one Markdown table row: split on ``|`` outside code spans and unescaped."""
    parts, current, code, previous = [], [], False, ""
    for char in line.strip():
        if char == "`":
            code = not code
        if char == "|" and not code and previous != "\\":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        previous = char
    parts.append("".join(current))
    return [p.strip() for p in parts[1:-1]]


def test_nothing_points_at_the_authors_reference_notes():
    hits = []
    for path in repo_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            hits += [f"{path.relative_to(REPO)}:{number}: {word}" for word in FORBIDDEN if word in line]
    assert not hits, "the repository must stand on its own (docs/science.md is its account):\n" + "\n".join(hits)


def test_every_cited_section_exists():
    cited, missing = 0, []
    for path in repo_files():
        text = text_of(path)
        if text is None:
            continue
        for m in CITATION.finditer(text):
            doc = DOCS / m.group(1)
            number = text.count("\n", 0, m.start()) + 1
            titles = headings(doc) if doc.is_file() else set()
            for section in re.findall(r'"([^"\n]+)"', m.group(2)):
                cited += 1
                if section not in titles:
                    missing.append(f'{path.relative_to(REPO)}:{number}: docs/{m.group(1)}, "{section}"')
    assert cited, "no citation found: the pattern no longer matches how the code cites the docs"
    assert not missing, "cited sections that are no ## heading of the cited page:\n" + "\n".join(missing)


def test_science_has_every_section_the_code_is_written_against():
    assert not set(SCIENCE_SECTIONS) - headings(DOCS / "science.md")


def test_the_study_is_linked_from_the_readme_and_the_architecture():
    assert "docs/science.md" in (REPO / "README.md").read_text(encoding="utf-8")
    assert "(science.md)" in (DOCS / "architecture.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_no_table_cell_is_prose(doc: Path):
    long = [f"{doc.name}:{number}: a cell of {len(cell)} characters"
            for number, line in markdown_lines(doc) if line.lstrip().startswith("|")
            for cell in cells(line) if len(cell) > MAX_CELL]
    assert not long, f"table cells over {MAX_CELL} characters (write them as paragraphs):\n" + "\n".join(long)


def test_the_citation_pattern_reads_the_forms_in_use():
    text = ('(docs/science.md, "Evaluation", "Prediction-error coding" and "Key context"): one job\n'
            '# Elman vs LSTM (docs/science.md,\n# "Networks"): 3 architectures')
    found = [re.findall(r'"([^"\n]+)"', m.group(2)) for m in CITATION.finditer(text)]
    assert found == [["Evaluation", "Prediction-error coding", "Key context"], ["Networks"]]
    assert cells("| a | `x | y` | b \\| c |") == ["a", "`x | y`", "b \\| c"]
