"""A real Dovecot IMAP server for tests and benchmarks, on loopback, in a temp folder.

    server = DovecotServer(password="secret")
    server.start()          # fails with a clear message if the binary is missing
    server.port, server.append("support@example.com", raw_bytes)
    server.stop(); server.start()   # same port, same mail: a server restart
    server.close()          # stop and remove the folder

Every user name logs in with the one static password; mail lives in Maildirs under the
temp folder. Needs the Debian package (`apt-get install dovecot-imapd`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.free_port import free_port

INSTALL_HINT = "install it with `apt-get install dovecot-imapd`"

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = threadline-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
mail_location = maildir:{root}/mail/%u
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 100
default_login_user = dovenull
default_internal_user = dovecot
imap_idle_notify_interval = 1 secs
mailbox_idle_check_interval = 1 secs
{oauth_passdb}passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
"""


class DovecotUnavailable(RuntimeError):
    pass


def find_dovecot() -> str:
    for candidate in (shutil.which("dovecot"), "/usr/sbin/dovecot"):
        if candidate and Path(candidate).exists():
            return candidate
    raise DovecotUnavailable(f"the dovecot binary was not found: {INSTALL_HINT}")


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the ")" that ends the command name: state, ppid, ...
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class DovecotServer:
    host = "127.0.0.1"

    def __init__(self, password: str = "secret", oauth_tokeninfo_url: str | None = None) -> None:
        self.binary = find_dovecot()
        self.password = password
        # With a tokeninfo URL, XOAUTH2 logins are checked there (Dovecot's oauth2 passdb,
        # as a Gmail/Office 365 front would); passwords keep working beside it.
        self.oauth_tokeninfo_url = oauth_tokeninfo_url
        try:
            owner = pwd.getpwnam("dovecot")
            pwd.getpwnam("dovenull")
        except KeyError:
            raise DovecotUnavailable(
                f"the dovecot/dovenull OS users are missing: {INSTALL_HINT}") from None
        self._uid, self._gid = owner.pw_uid, owner.pw_gid
        self.root = Path(tempfile.mkdtemp(prefix="threadline-dovecot-"))
        self.port = free_port()
        self.config = self.root / "dovecot.conf"
        self._master_pid: int | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(exist_ok=True)
        for sub in ("mail", "home", "state"):  # mail processes run as dovecot
            os.chown(self.root / sub, self._uid, self._gid)
        os.chmod(self.root, 0o755)
        self.config.write_text(
            _CONFIG.format(root=self.root, port=self.port, password=self.password,
                           oauth_passdb=self._oauth_passdb())
        )
        # The master daemonizes and would keep captured pipes open: use a file instead.
        errors = self.root / "start.err"
        with open(errors, "w") as err:
            done = subprocess.run([self.binary, "-c", str(self.config)],
                                  stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        if done.returncode != 0:
            raise RuntimeError(f"dovecot did not start ({done.returncode}):\n"
                               f"{errors.read_text()}\n{self.log_tail()}")
        self._wait_listening()
        pid_file = self.root / "run" / "master.pid"
        self._master_pid = int(pid_file.read_text().strip()) if pid_file.exists() else None

    def _oauth_passdb(self) -> str:
        if not self.oauth_tokeninfo_url:
            return ""
        conf = Path(self.root) / "oauth2.conf.ext"
        conf.write_text(f"tokeninfo_url = {self.oauth_tokeninfo_url}\n"
                        "introspection_mode = auth\nusername_attribute = email\n")
        return ("passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {conf}\n}}\n")

    def _wait_listening(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot is not answering on {self.port}\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (mail and config stay): every connection drops."""
        if self._master_pid is None:
            return
        pid, self._master_pid = self._master_pid, None
        children = _children_of(pid)  # imap processes outlive their master otherwise
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        # The port must be free again before a restart.
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                if probe.connect_ex((self.host, self.port)) != 0:
                    return
            time.sleep(0.05)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self) -> str:
        log = self.root / "dovecot.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""

    # -- test helpers (plain IMAP as the user) ----------------------------------------------
    def client(self, user: str):
        from imapclient import IMAPClient

        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        client.login(user, self.password)
        return client

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags=()) -> None:
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw, flags=flags)

    def append_many(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        """Bulk load (benchmarks): one connection, MULTIAPPEND-free simple APPENDs."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in messages:
                client.append(folder, raw)

    def fetch_all(self, user: str, folder: str) -> list[tuple[bytes, set[bytes]]]:
        """(raw message, flags) of every message in a folder."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            data = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]", "FLAGS"])
            return [(d[b"BODY[]"], set(d[b"FLAGS"])) for _, d in sorted(data.items())]

    def recreate_folder(self, user: str, folder: str) -> None:
        """Delete and create a folder: it comes back with a new UIDVALIDITY."""
        with self.client(user) as client:
            if client.folder_exists(folder):
                client.delete_folder(folder)
            client.create_folder(folder)
