"""Noticing that a file's content changed on disk, including through a Secret's symlink swap."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class FileVersion:
    """One version of a file's content, and where it was found.

    A Kubernetes Secret or ConfigMap volume replaces its files by re-pointing a
    ``..data`` symlink at a new directory: the path we were given and its own mtime do
    not change, so the resolved target, its inode and mtime are compared, and the
    content hash decides whether anything really changed.
    """

    resolved: str
    inode: int
    mtime_ns: int
    size: int
    sha256: str

    def same_stat(self, other: FileVersion) -> bool:
        """True when the file on disk is the very same one (no need to read it again)."""
        return (self.resolved, self.inode, self.mtime_ns, self.size) == (
            other.resolved,
            other.inode,
            other.mtime_ns,
            other.size,
        )


def stat_version(path: Path) -> FileVersion:
    """Where `path` points now, without reading it (`sha256` left empty). Raises OSError."""
    resolved = os.path.realpath(path)
    st = os.stat(resolved)
    return FileVersion(resolved, st.st_ino, st.st_mtime_ns, st.st_size, "")


def read_version(path: Path) -> tuple[bytes, FileVersion]:
    """The content of `path` and its version. Raises OSError."""
    resolved = os.path.realpath(path)
    with open(resolved, "rb") as handle:
        st = os.fstat(handle.fileno())
        data = handle.read()
    digest = hashlib.sha256(data).hexdigest()
    return data, FileVersion(resolved, st.st_ino, st.st_mtime_ns, st.st_size, digest)
