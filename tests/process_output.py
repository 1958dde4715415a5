"""What the tests' worker scripts write for the test to read back."""

from __future__ import annotations

import os


def append(path: str, line: str) -> None:
    """One O_APPEND write per line, so lines from several processes never interleave."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
