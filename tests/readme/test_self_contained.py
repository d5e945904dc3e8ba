"""A clone tests itself: no file of the repository points outside it. (The developers keep a folder
`shared` beside the repository; a user's clone has none, so nothing may read or cite it.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDER = "shared"  # spelt apart so that this file does not match its own patterns
OUTSIDE = re.compile(rf"\.\./{FOLDER}\b|/\s*[\"']{FOLDER}[\"']\s*/|/work/{FOLDER}\b")
SKIPPED = {".venv", "node_modules", ".git", ".mypy_cache", ".ruff_cache", ".monban-data"}


def repository_files() -> list[Path]:
    """The files git tracks, or every file of the tree when this is not a git checkout."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=False, timeout=60
    )
    if listed.returncode == 0 and listed.stdout:
        return [REPO / name for name in listed.stdout.decode().split("\0") if name]
    return [
        path
        for path in REPO.rglob("*")
        if path.is_file() and not SKIPPED.intersection(path.relative_to(REPO).parts)
    ]


def test_no_file_points_outside_the_repository() -> None:
    files = [path for path in repository_files() if path.is_file()]
    assert any(path.name == "README.md" for path in files) and len(files) > 100
    hits = [
        f"{path.relative_to(REPO)}: {match.group(0)}"
        for path in files
        for match in OUTSIDE.finditer(path.read_bytes().decode("utf-8", "replace"))
    ]
    assert hits == []


def test_the_pattern_finds_what_it_looks_for() -> None:
    for text in (f"../{FOLDER}/DESIGN.md", f'parents[2].parent / "{FOLDER}" / "conformance"'):
        assert OUTSIDE.search(text), text
    assert not OUTSIDE.search("the AWS shared-credentials format")
