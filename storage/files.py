"""Attachment bytes on the local file system (the embedded default; one directory)."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FileNotStored(KeyError):
    pass


def safe_name(filename: str) -> str:
    """A file-system-safe suffix for the key; the real name travels in the Attachment."""
    name = _UNSAFE.sub("_", Path(filename or "file").name).strip("._") or "file"
    return name[-80:]


class LocalFileStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    async def put(self, data: bytes, filename: str, content_type: str) -> str:
        key = f"{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}-{safe_name(filename)}"
        await asyncio.to_thread(self._write, key, data)
        return key

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise FileNotStored(key) from None

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:  # a key never escapes the store
            raise FileNotStored(key)
        return path

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # readers never see half a file
