"""Fixtures for the content tests: a writable copy of the shipped content/ folder."""

import shutil
from pathlib import Path

import pytest

from bot.content import DEFAULT_CONTENT_DIR, Content, load_content


@pytest.fixture(scope="module")
def shipped() -> Content:
    return load_content(DEFAULT_CONTENT_DIR)


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A copy of content/ to break; safety/ belongs to the safety screen, not to us."""
    dest = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, dest, ignore=shutil.ignore_patterns("safety"))
    return dest
