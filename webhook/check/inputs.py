"""Which files the checker reads, and their text: folders walked once, sizes capped, BOMs read."""

from __future__ import annotations

import codecs
import os
import stat
from typing import IO, Any

from webhook.errors import ManifestError

#: File name endings read when walking a folder (files named explicitly are always read).
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
#: The path that means "read standard input".
STDIN = "-"
#: How standard input is named in messages.
STDIN_NAME = "<stdin>"
#: Largest input read from one file or stdin. The API server accepts at most ~3 MiB
#: per request, so 64 MiB leaves room for a whole rendered chart while bounding memory.
MAX_INPUT_BYTES = 64 * 1024 * 1024


def expand_path(path: str) -> list[str]:
    """The manifest files `path` names: itself if a file, else its manifests, recursively.

    Symbolic links to folders are followed, each real folder once, so a link loop
    ends instead of recursing. Unreadable folders are problems, not silently skipped.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {_os_reason(exc)}") from None
    if not stat.S_ISDIR(info.st_mode):
        return [path]
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    _walk(path, info, found, seen)
    return found


def _walk(folder: str, info: os.stat_result, found: list[str], seen: set[tuple[int, int]]) -> None:
    real = (info.st_dev, info.st_ino)
    if real in seen:  # reached again through a symbolic link: already read
        return
    seen.add(real)
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise ManifestError(f"{folder}: cannot read the folder: {_os_reason(exc)}") from None
    for name in names:
        child = os.path.join(folder, name)
        try:
            child_info = os.stat(child)
        except OSError as exc:
            if name.endswith(MANIFEST_SUFFIXES):
                raise ManifestError(f"{child}: cannot read: {_os_reason(exc)}") from None
            continue  # e.g. a dangling link that is not a manifest anyway
        if stat.S_ISDIR(child_info.st_mode):
            _walk(child, child_info, found, seen)
        elif name.endswith(MANIFEST_SUFFIXES):
            found.append(child)


def read_manifest_file(file: str) -> str:
    """The text of one manifest file, or a ManifestError naming the file and why."""
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise ManifestError(f"{file}: cannot read: {_os_reason(exc)}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise ManifestError(f"{file}: larger than {MAX_INPUT_BYTES // 2**20} MiB; split it up")
    return decode_manifest_bytes(data, file)


def read_stream(stream: IO[Any]) -> bytes | str:
    """Standard input's bytes (or text, for a stream without a binary buffer), capped."""
    binary = getattr(stream, "buffer", None)
    try:
        data: bytes | str = (binary or stream).read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise ManifestError(f"{STDIN_NAME}: cannot read: {_os_reason(exc)}") from None
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{STDIN_NAME}: not UTF-8 text: {exc.reason}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise ManifestError(f"{STDIN_NAME}: larger than {MAX_INPUT_BYTES // 2**20} MiB")
    return data


def decode_manifest_bytes(data: bytes | str, file: str) -> str:
    """Decode manifest bytes: UTF-8, or UTF-16/32 with a byte order mark; BOM removed."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    encoding = "utf-8"
    # The UTF-32 LE mark begins with the UTF-16 LE one, so the longer marks come first.
    for bom, with_bom in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            encoding = with_bom
            break
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ManifestError(
            f"{file}:{line}: not {encoding.upper().removesuffix('-SIG')} text "
            f"(byte 0x{data[exc.start]:02x} at offset {exc.start}); save the file as UTF-8"
        ) from None


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
