"""The drop folder: SYNC_ROOT/<district slug>/incoming/, where a district's SIS (over SFTP) leaves its roster.

A complete upload is a zip, or a folder holding a manifest.csv or a .done marker. Anything changed
within the settle time, or whose size is still moving, is taken to be still uploading and is left
for the next run. What a sync took is moved to processed/ or failed/, never deleted.
"""
import csv
import datetime
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

INCOMING, PROCESSED, FAILED = "incoming", "processed", "failed"
DONE_MARKER = ".done"
MANIFEST = "manifest.csv"
# What SFTP clients name a file while it is written (WinSCP .filepart, rsync/lftp temporaries).
PARTIAL_SUFFIXES = (".part", ".filepart", ".tmp", ".partial", ".crdownload")
# Between two looks at a file's size, so a write in progress shows itself even without a settle time.
SIZE_RECHECK_SECONDS = 0.2
SETTLE_COVERS_WRITES = 5  # seconds: an SFTP write stalls for less, so a longer settle time needs no second look

ERROR_MANIFEST_MISSING_FILE = (
    "The upload {name} is incomplete: its manifest.csv lists {file}, which is not in the folder. "
    "Upload the whole roster again."
)
ERROR_MANIFEST_UNREADABLE = "The upload {name} has a manifest.csv that cannot be read as a CSV file."
ERROR_EMPTY_FOLDER = "The upload {name} holds no .csv or .xlsx file."


class UploadIncomplete(Exception):
    """The upload cannot be imported as it is; the message names it and is safe to show."""


@dataclass
class Upload:
    """One complete upload in incoming/: a zip, or a folder of roster files."""

    name: str
    path: Path

    @property
    def is_dir(self) -> bool:
        return self.path.is_dir()

    def files(self) -> list[tuple[str, str]]:
        """The (name, path) pairs to import; UploadIncomplete when a folder's manifest names a file it lacks."""
        if not self.is_dir:
            return [(self.name, str(self.path))]
        found = sorted(
            (p.name, str(p)) for p in self.path.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in (".csv", ".xlsx", ".txt", ".tsv")
        )
        _check_manifest(self.name, self.path, {n.casefold() for n, _ in found})
        if not [n for n, _ in found if n.casefold() != MANIFEST]:
            raise UploadIncomplete(ERROR_EMPTY_FOLDER.format(name=self.name))
        return found


def _check_manifest(name: str, folder: Path, present: set[str]) -> None:
    """OneRoster's manifest.csv says which files a bulk upload has (file.users,bulk): each must be there."""
    manifest = folder / MANIFEST
    if not manifest.exists():
        return
    try:
        with open(manifest, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        raise UploadIncomplete(ERROR_MANIFEST_UNREADABLE.format(name=name)) from None
    for row in rows[1:]:
        if len(row) >= 2 and row[0].strip().startswith("file.") and row[1].strip().lower() in ("bulk", "delta"):
            wanted = row[0].strip()[len("file."):] + ".csv"
            if wanted.casefold() not in present:
                raise UploadIncomplete(ERROR_MANIFEST_MISSING_FILE.format(name=name, file=wanted))


def district_folder(slug: str) -> Path:
    return Path(settings.SYNC_ROOT) / slug


def folders_ensure(slug: str) -> Path:
    """Make the district's incoming/, processed/ and failed/ folders; returns incoming/."""
    root = district_folder(slug)
    for sub in (INCOMING, PROCESSED, FAILED):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root / INCOMING


def _newest_mtime(path: Path) -> float:
    if path.is_file():
        return path.stat().st_mtime
    times = [path.stat().st_mtime] + [p.stat().st_mtime for p in path.rglob("*")]
    return max(times)


def _total_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _is_partial_name(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(PARTIAL_SUFFIXES)


def _looks_complete(path: Path) -> bool:
    if path.is_dir():
        return (path / MANIFEST).exists() or (path / DONE_MARKER).exists()
    return path.suffix.lower() == ".zip"


@dataclass
class Scan:
    """What incoming/ holds: the upload to take, older complete ones it supersedes, and those still being written."""

    upload: Upload | None
    superseded: list[Upload]
    waiting: list[str]


def incoming_scan(slug: str, *, now: float | None = None, settle_seconds: int | None = None) -> Scan:
    """The newest complete upload in the district's incoming/ folder, and what it leaves alone."""
    incoming = folders_ensure(slug)
    now = time.time() if now is None else now
    settle = settings.SYNC_SETTLE_SECONDS if settle_seconds is None else settle_seconds
    ready, waiting = [], []
    for entry in sorted(incoming.iterdir()):
        if _is_partial_name(entry.name) or not _looks_complete(entry):
            if not entry.name.startswith(".") and (entry.is_dir() or _is_partial_name(entry.name)):
                waiting.append(entry.name)
            continue
        mtime = _newest_mtime(entry)
        if now - mtime < settle:
            waiting.append(entry.name)
            continue
        ready.append((mtime, entry))
    if ready and 0 < settle < SETTLE_COVERS_WRITES:
        # With a short settle time, a size still moving between two looks is a write in progress.
        sizes = {e: _total_size(e) for _, e in ready}
        time.sleep(SIZE_RECHECK_SECONDS)
        moving = [e for _, e in ready if _total_size(e) != sizes[e]]
        waiting += [e.name for e in moving]
        ready = [(m, e) for m, e in ready if e not in moving]
    ready.sort(key=lambda pair: (pair[0], pair[1].name))
    uploads = [Upload(name=e.name, path=e) for _, e in ready]
    return Scan(upload=uploads[-1] if uploads else None, superseded=uploads[:-1], waiting=waiting)


def upload_move(*, slug: str, upload: Upload, to: str) -> Path:
    """Move an upload out of incoming/ to processed/ or failed/, under a time-stamped name that never overwrites."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target_dir = district_folder(slug) / to
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{stamp}-{upload.name}"
    n = 1
    while target.exists():
        n += 1
        target = target_dir / f"{stamp}-{n}-{upload.name}"
    shutil.move(str(upload.path), str(target))
    return target
