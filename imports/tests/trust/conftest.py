"""Fixtures for the trust tests: what a district must be able to rely on when things go wrong."""
from pathlib import Path

import pytest


@pytest.fixture
def private_files(settings):
    """The files under private storage right now, to compare after a request that must store nothing."""

    def listing() -> set[Path]:
        return {p for p in Path(settings.PRIVATE_STORAGE_ROOT).rglob("*") if p.is_file()}

    return listing
