"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl in a temp dir.

    with PostgresCluster() as cluster:
        cluster.url   # postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres

Loopback only, trust auth, fsync off: fast and disposable. Needs the Debian server binaries
(`apt-get install postgresql`); as root it runs them as the `postgres` OS user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.free_port import free_port

INSTALL_HINT = "run `apt-get install postgresql`"


class PostgresUnavailable(RuntimeError):
    pass


def find_bin_dir() -> Path:
    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(part) for part in name.split(".") if part.isdigit())

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found under "
        f"/usr/lib/postgresql/*/bin or on PATH: {INSTALL_HINT}"
    )




class PostgresCluster:
    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.root: Path | None = None
        self.port = 0
        self._as_user: list[str] = []

    @property
    def data(self) -> Path:
        assert self.root is not None, "the cluster is not started"
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, *args: str) -> None:
        command = [*self._as_user, *args]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            log = self.root / "server.log"
            server_log = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}\n{server_log}"
            )

    def start(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="threadline-pg-"))
        if os.geteuid() == 0:  # initdb refuses to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                self.stop()
                raise PostgresUnavailable(
                    f"running as root needs the `postgres` OS user: {INSTALL_HINT}"
                ) from None
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        try:
            self._initdb_and_start()
        except BaseException:
            self.stop()
            raise

    def _initdb_and_start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "--auth=trust"),
            *("--encoding=UTF8", "--no-locale", "--no-sync"),
        )
        for attempt in range(3):  # the free port can be taken between probe and bind
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} "
                f"-c unix_socket_directories={self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            try:
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    *("-D", str(self.data), "-l", str(self.root / "server.log")),
                    *("-o", options, "-w", "-t", "60", "start"),
                )
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(
                    str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
