"""Run a command with DATABASE_URL pointing at pgbouncer in transaction mode (as Supabase's pooler).

    python -m devtools.pooler [--upstream URL] -- pytest -n 2 tests/integration

The upstream is --upstream, else DATABASE_URL, else an embedded PostgreSQL in
a temporary folder. Debian's pgbouncer listens on a free port of 127.0.0.1
with pool_mode = transaction, so every transaction may run on another server
connection: prepared statements, session settings and session locks break,
which is what this checks. pgbouncer and the embedded server are stopped at the
end; the command's exit code is returned.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PGBOUNCER = "pgbouncer"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def upstream(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from shared.store.embedded import start_embedded

    with tempfile.TemporaryDirectory(prefix="learner-pooler-pg-") as tmp:
        server = start_embedded(Path(tmp) / "pg")
        try:
            yield server.url
        finally:
            server.stop()


def config(upstream_url: str, port: int, folder: Path) -> str:
    """pgbouncer.ini: every database of the upstream, transaction pooling, trust on loopback."""
    info = psycopg.conninfo.conninfo_to_dict(upstream_url)
    host = str(info.get("host") or "127.0.0.1")
    target = f"host={host} port={info.get('port') or 5432}"
    if info.get("user"):
        target += f" user={info['user']}"
    return "\n".join(
        [
            "[databases]",
            f"* = {target}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "auth_type = trust",
            f"auth_file = {folder / 'userlist.txt'}",
            "pool_mode = transaction",
            "max_client_conn = 2000",
            "default_pool_size = 30",
            "reserve_pool_size = 5",
            # psycopg sends neither, but a libpq "options" setting must not end the connection.
            "ignore_startup_parameters = extra_float_digits,options",
            "server_reset_query =",
            f"logfile = {folder / 'pgbouncer.log'}",
            f"pidfile = {folder / 'pgbouncer.pid'}",
            "",
        ]
    )


def _server_account(upstream_url: str) -> str:
    """The OS account pgbouncer runs as: the owner of a Unix-socket server's folder (the embedded
    server's), else postgres."""
    host = str(psycopg.conninfo.conninfo_to_dict(upstream_url).get("host") or "")
    if host.startswith("/"):
        return pwd.getpwuid(Path(host).stat().st_uid).pw_name
    return "postgres"


class Pooler:
    """A running pgbouncer: its URL, and what it said (stderr and log file) for failure reports."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, folder: Path) -> None:
        self.proc, self.url, self.folder = proc, url, folder

    def said(self, chars: int = 4000) -> str:
        """The end of pgbouncer's stderr and of its log file."""
        parts = []
        for name in ("stderr.txt", "pgbouncer.log"):
            path = self.folder / name
            text = path.read_text("utf-8", "replace") if path.exists() else ""
            if text.strip():
                parts.append(f"--- pgbouncer {name} (end) ---\n{text[-chars:]}")
        return "\n".join(parts)


@contextmanager
def pgbouncer(upstream_url: str) -> Iterator[Pooler]:
    """pgbouncer in front of ``upstream_url``, serving its ``postgres`` database.

    Its stderr goes to a file, never to a pipe: nobody reads a pipe while the
    command runs, and pgbouncer, which logs every login to stderr too, blocks
    once 64 KiB are written (every client then waits).
    """
    exe = shutil.which(PGBOUNCER) or "/usr/sbin/pgbouncer"
    if not Path(exe).exists():
        raise SystemExit("pgbouncer is not installed (make installs Debian's: apt-get install pgbouncer)")
    user = psycopg.conninfo.conninfo_to_dict(upstream_url).get("user") or "postgres"
    with tempfile.TemporaryDirectory(prefix="learner-pgbouncer-") as tmp:
        folder = Path(tmp)
        port = _free_port()
        (folder / "pgbouncer.ini").write_text(config(upstream_url, port, folder))
        (folder / "userlist.txt").write_text(f'"{user}" ""\n')
        cmd = [exe, str(folder / "pgbouncer.ini")]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root: it runs as the account that can reach the server
            account = _server_account(upstream_url)
            shutil.chown(folder, account)
            folder.chmod(0o755)
            cmd[1:1] = ["-u", account]
        with (folder / "stderr.txt").open("wb") as stderr:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
        pooler = Pooler(proc, f"postgresql://{user}@127.0.0.1:{port}/postgres", folder)
        try:
            deadline = time.monotonic() + 20
            while True:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"pgbouncer did not start (exit code {proc.poll()})\n{pooler.said()}")
                time.sleep(0.05)
            yield pooler
        finally:
            proc.send_signal(signal.SIGINT)  # SIGINT: shut down at once
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.pooler", description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", help="the PostgreSQL behind pgbouncer (default: DATABASE_URL, else embedded)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run (after --)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    with upstream(args.upstream or os.environ.get("DATABASE_URL")) as up, pgbouncer(up) as pooler:
        print(f"pgbouncer (transaction pooling) at {pooler.url}, in front of the upstream server", flush=True)
        env = {**os.environ, "DATABASE_URL": pooler.url, "LEARNER_POOLER": "pgbouncer-transaction"}
        code = subprocess.call(command, env=env)
        died = pooler.proc.poll()
        if code != 0 or died is not None:
            state = "pgbouncer is still running" if died is None else f"pgbouncer exited ({died}) during the command"
            print(f"The command exited with {code}; {state}.\n{pooler.said()}", file=sys.stderr, flush=True)
        return code if code != 0 or died is None else 1


if __name__ == "__main__":
    sys.exit(main())
