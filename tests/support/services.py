"""Real PostgreSQL, Redis and Dovecot servers as child processes, for tests.

Each class starts the genuine server binary on a free 127.0.0.1 port inside its own
temporary directory, waits until it really answers its protocol, and on exit stops it
(polite signal, then SIGKILL to its whole process group after a grace period) and deletes
the directory. The machine's own PostgreSQL/Redis on the standard ports are never used or
touched: a test must not depend on, or corrupt, state it does not own.

Use them as context managers (or call ``start()``/``close()`` yourself)::

    with PostgresServer() as pg:
        url = pg.create_database("t_inbox")

A missing binary raises :class:`ServiceUnavailable` naming the Debian package, so the
suite *fails* with an install hint instead of silently skipping the real-service tests.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import imaplib
import math
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from .ports import free_port

INSTALL_HINT = "run scripts/install-test-deps.sh"
HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_GRACE = 10.0
LOG_TAIL_LINES = 40
PORT_ATTEMPTS = 3

#: Where Debian installs server programs that may be missing from a non-root PATH.
SYSTEM_BIN_DIRS: tuple[str, ...] = ("/usr/sbin", "/usr/bin", "/usr/local/bin")
#: Debian keeps the PostgreSQL server programs out of PATH, one directory per major version.
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"

_PR_SET_PDEATHSIG = 1
# Resolved once here: looking symbols up (dlopen) in the forked child of a threaded
# process could deadlock on a loader lock another thread held at fork time.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


class ServiceUnavailable(RuntimeError):
    """A server program needed by the tests is not installed on this machine."""


class ServiceStartError(RuntimeError):
    """A server was started but did not come up; the message carries its log tail."""


def _missing(what: str, package: str) -> ServiceUnavailable:
    return ServiceUnavailable(f"{what} not found (Debian package {package!r}); {INSTALL_HINT}")


def _find_program(name: str, package: str) -> str:
    """Locate ``name`` on PATH, then in the system bin dirs a non-root PATH often lacks."""
    found = shutil.which(name)
    if found:
        return found
    for directory in SYSTEM_BIN_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise _missing(f"{name!r}", package)


def _pg_version_key(directory: Path) -> int:
    version = directory.parent.name
    return int(version) if version.isdigit() else 0


def _find_postgres_bin() -> Path:
    """Return one directory holding initdb, postgres, pg_isready and psql.

    All four must come from the same directory: an initdb of one major version makes a
    data directory that a postgres of another version refuses to open.
    """
    required = ("initdb", "postgres", "pg_isready", "psql")
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    globbed = (Path(p) for p in glob.glob(POSTGRES_BIN_GLOB))
    candidates.extend(sorted(globbed, key=_pg_version_key, reverse=True))
    for directory in candidates:
        if all(os.access(directory / tool, os.X_OK) for tool in required):
            return directory
    raise _missing("PostgreSQL server programs (initdb, postgres)", "postgresql")


def _unprivileged_account(preferred: str) -> pwd.struct_passwd | None:
    """Account to run a server as, or None when we are not root.

    initdb and postgres refuse to run as root (a database superuser must not be able to
    own the machine), and these machines run everything as root. So, when root, the
    server runs as ``preferred`` (e.g. the ``postgres`` system user) or else ``nobody``.
    """
    if os.geteuid() != 0:
        return None
    for name in (preferred, "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServiceUnavailable(f"neither user {preferred!r} nor 'nobody' exists to run the server")


def _tail(paths: Iterable[Path], lines: int = LOG_TAIL_LINES) -> str:
    chunks = []
    for path in paths:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        last = "\n".join(text.splitlines()[-lines:])
        chunks.append(f"--- last lines of {path} ---\n{last}")
    return "\n".join(chunks) or "(no log output)"


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it if the test process itself dies.

    Context managers clean up after failing tests, but not after pytest is SIGKILLed (CI
    timeout, Ctrl-C twice); without this every such run would leave servers behind.
    """
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawn_kwargs(account: pwd.struct_passwd | None) -> dict[str, Any]:
    """Popen arguments that drop privileges and tie the child's life to ours.

    Popen's own ``user``/``group`` switch identity in the forked child right before exec,
    which is what ``runuser -u USER --`` does, but without an intermediate process: our
    signals reach the server itself, so shutdown is direct and reliable.
    """
    kwargs: dict[str, Any] = {"start_new_session": True}
    if account is not None:
        kwargs.update(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
    # PDEATHSIG fires when the *thread* that forked exits, so only the main thread's
    # children may use it; a worker thread's exit would otherwise kill a live server.
    if threading.current_thread() is threading.main_thread():
        kwargs["preexec_fn"] = _die_with_parent
    return kwargs


def _child_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment minus PG* variables (a developer's PGHOST must not redirect tools)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["HOME"] = str(home)
    env.update(extra or {})
    return env


def _stop_process(proc: subprocess.Popen[bytes], first_signal: int, grace: float) -> bool:
    """Signal the server, give it ``grace`` seconds, then SIGKILL its whole process group.

    The group kill also reaps helpers the server forked (postgres backends, dovecot's
    imap/auth processes) in case the leader died without taking them along. True when the
    leader was still running after the grace period (it was killed, not stopped).
    """
    killed = False
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, first_signal)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            killed = True
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=grace)
    _wait_group_gone(proc.pid, grace)
    return killed


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """Block until no process of the group is still running.

    The server's helpers become orphans once the leader is gone. Zombies do not count:
    on these machines PID 1 reaps orphans only about once a second, and a zombie holds
    no port, file or memory.
    """
    deadline = time.monotonic() + timeout
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)


def group_alive(pgid: int) -> bool:
    """Whether any non-zombie process still belongs to process group ``pgid`` (Linux)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        state, process_group = fields[0], int(fields[2])
        if process_group == pgid and state not in ("Z", "X"):
            return True
    return False


_DIR_PREFIX = "switchboard-"
_OWNER_FILE = ".owner-pid"


def _sweep_stale_dirs() -> None:
    """Delete temp dirs left by test processes that were SIGKILLed (no cleanup ran).

    Their servers died with them (PDEATHSIG); only the files remain. Directories of
    live processes, such as another developer's concurrent run, are left alone.
    """
    for directory in Path(tempfile.gettempdir()).glob(f"{_DIR_PREFIX}*"):
        if _owner_is_dead(directory):
            shutil.rmtree(directory, ignore_errors=True)


def _owner_is_dead(directory: Path) -> bool:
    try:
        owner = int((directory / _OWNER_FILE).read_text())
    except (OSError, ValueError):
        return False  # being created right now, or not one of ours
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    return False


class _ManagedServer:
    """Lifecycle shared by all servers: temp dir, start and wait, stop, clean up."""

    name = "server"
    stop_signal: int = signal.SIGTERM

    def __init__(self, port: int | None = None) -> None:
        self.host = HOST
        self._port_fixed = port is not None
        self.port = port if port is not None else free_port()
        _sweep_stale_dirs()
        self.directory = Path(tempfile.mkdtemp(prefix=f"{_DIR_PREFIX}{self.name}-"))
        (self.directory / _OWNER_FILE).write_text(str(os.getpid()))
        self.log_path = self.directory / f"{self.name}.out.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.killed_at_stop = 0  # stops whose polite signal was not obeyed in STOP_GRACE
        self._prepared = False
        self._started_once = False
        _LIVE.add(self)

    # Hooks for subclasses -------------------------------------------------------------

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _is_ready(self) -> bool:
        raise NotImplementedError

    def _prepare(self) -> None:
        """One-time setup before the first start (e.g. initdb)."""

    def _before_start(self) -> None:
        """Runs before every start (e.g. writing a config that names the port)."""

    def _account(self) -> pwd.struct_passwd | None:
        return None

    def _log_files(self) -> list[Path]:
        return [self.log_path]

    # Public lifecycle -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the server (again, on the same port, after ``stop()``) and wait for it.

        On the very first start a port stolen between ``free_port()`` and the server's
        bind is replaced by a fresh one; later starts keep the port, as clients know it.
        """
        if self.running:
            return
        self.stop()  # it may have crashed: reap it and any helpers it left
        if not self._prepared:
            self._prepare()
            self._prepared = True
        may_move = not (self._port_fixed or self._started_once)
        attempts = PORT_ATTEMPTS if may_move else 1
        for attempt in range(1, attempts + 1):
            try:
                self._start_once()
            except ServiceStartError:
                if attempt == attempts or not _port_in_use(self.port):
                    raise
                self.port = free_port()
            else:
                self._started_once = True
                return

    def stop(self) -> None:
        """Stop the server but keep its data, so ``start()`` can simulate an outage's end."""
        proc, self._proc = self._proc, None
        if proc is not None and _stop_process(proc, self.stop_signal, STOP_GRACE):
            self.killed_at_stop += 1

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its directory; safe to call twice."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
            _LIVE.discard(self)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Internals ------------------------------------------------------------------------

    def _start_once(self) -> None:
        self._before_start()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env=_child_env(self.directory),
                **_spawn_kwargs(self._account()),
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self) -> None:
        """Poll the real protocol until it answers, the process dies, or time runs out."""
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            code = self._proc.poll()
            if code is not None:
                raise ServiceStartError(
                    f"{self.name} on port {self.port} exited with code {code} before it "
                    f"accepted connections.\n{_tail(self._log_files())}"
                )
            if self._is_ready():
                return
            if time.monotonic() > deadline:
                raise ServiceStartError(
                    f"{self.name} did not accept connections on port {self.port} within "
                    f"{START_TIMEOUT:.0f}s.\n{_tail(self._log_files())}"
                )
            time.sleep(0.05)


_LIVE: set[_ManagedServer] = set()


@atexit.register
def _close_leftovers() -> None:
    """Last line of defence for servers whose owner forgot to close them."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.close()


# PostgreSQL ---------------------------------------------------------------------------


class PostgresServer(_ManagedServer):
    """A throw-away PostgreSQL cluster with trust auth for user ``postgres``.

    Durability is switched off (fsync, synchronous_commit, full_page_writes): the data
    dies with the test anyway, and it makes schema setup several times faster. A test of
    what survives PostgreSQL being stopped or killed (the chaos suite) asks for
    ``durable=True``: ``synchronous_commit`` on, so a commit is acknowledged only once its
    WAL is written, and so survives the process (not the machine) being killed. Without
    it, a SIGKILL after a slow shutdown loses the last commits it acknowledged.
    """

    name = "postgres"
    # SIGINT is PostgreSQL's "fast" shutdown. SIGTERM ("smart") waits for every client to
    # disconnect, so one connection a test leaked would hang the teardown.
    stop_signal = signal.SIGINT

    def __init__(self, port: int | None = None, *, durable: bool = False) -> None:
        # Looked up before super(): a missing program must not leak a temp dir.
        self.bin_dir = _find_postgres_bin()
        self.durable = durable
        self._owner = _unprivileged_account("postgres")
        super().__init__(port)
        self.data_dir = self.directory / "data"

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{quote(database, safe='')}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL.

        Goes through the ``psql`` binary rather than asyncpg so it also works when called
        from inside a running event loop (an async test or fixture).
        """
        self._psql(f"CREATE DATABASE {_quote_ident(name)}")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database even if connections are still open (WITH FORCE, PG 13+)."""
        self._psql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")

    def _account(self) -> pwd.struct_passwd | None:
        return self._owner

    def _prepare(self) -> None:
        if self._owner is not None:
            os.chown(self.directory, self._owner.pw_uid, self._owner.pw_gid)
        log = self.directory / "initdb.log"
        with log.open("wb") as out:
            result = subprocess.run(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env=_child_env(self.directory),
                check=False,
                **_spawn_kwargs(self._owner),
            )
        if result.returncode != 0:
            raise ServiceStartError(f"initdb failed ({result.returncode}).\n{_tail([log])}")

    def _command(self) -> list[str]:
        settings = {
            "listen_addresses": self.host,
            "fsync": "off",
            "synchronous_commit": "on" if self.durable else "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        command = [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-k",
            str(self.directory),
        ]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        return command

    def _is_ready(self) -> bool:
        # A TCP connect succeeds while PostgreSQL still answers "starting up";
        # pg_isready asks the server itself whether it accepts sessions.
        result = subprocess.run(
            [
                str(self.bin_dir / "pg_isready"),
                "-q",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-t",
                "1",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=_child_env(self.directory),
            check=False,
        )
        return result.returncode == 0

    def _psql(self, sql: str) -> None:
        result = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                sql,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=_child_env(self.directory),
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {result.stderr.strip()}")


def _quote_ident(name: str) -> str:
    """Quote a PostgreSQL identifier; reject names PostgreSQL would silently truncate."""
    if not name or len(name.encode()) > 63:
        raise ValueError(f"database name must be 1..63 bytes: {name!r}")
    return '"' + name.replace('"', '""') + '"'


# Redis --------------------------------------------------------------------------------


class RedisServer(_ManagedServer):
    """A throw-away Redis with persistence off: a restart loses all data, like a crash."""

    name = "redis"

    def __init__(self, port: int | None = None) -> None:
        self.binary = _find_program("redis-server", "redis-server")
        super().__init__(port)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def flush(self) -> None:
        """Delete every key in every database (a clean slate between tests)."""
        reply = _redis_call(self.host, self.port, "FLUSHALL")
        if reply != b"+OK":
            raise RuntimeError(f"FLUSHALL failed: {reply!r}")

    def _command(self) -> list[str]:
        return [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
        ]

    def _is_ready(self) -> bool:
        # PING, not a bare connect: Redis accepts connections while still loading.
        return _redis_call(self.host, self.port, "PING", timeout=0.5) == b"+PONG"


def _redis_call(host: str, port: int, *args: str, timeout: float = 5.0) -> bytes:
    """Send one RESP command with the stdlib and return the first reply line (b"" on error).

    Kept free of the redis client library so the fixture cannot be broken by the code
    under test's own client configuration.
    """
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"".join(parts))
            with sock.makefile("rb") as reader:
                return reader.readline().rstrip(b"\r\n")
    except OSError:
        return b""


# Dovecot ------------------------------------------------------------------------------

_DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = {host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
{internal_users}service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={d}/mail/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
mail_privileged_group =
"""

_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")


class DovecotServer(_ManagedServer):
    """A throw-away Dovecot IMAP server with plain-text logins from a users file.

    Follows the verified recipe in shared/testing/README.md. Mail belongs to the
    ``dovecot`` system user because Dovecot refuses to serve mail as root.
    """

    name = "dovecot"

    def __init__(self, port: int | None = None) -> None:
        self.binary = _find_program("dovecot", "dovecot-imapd")
        self._mail_owner = self._find_mail_owner()
        super().__init__(port)
        self.config_path = self.directory / "dovecot.conf"
        self.users_path = self.directory / "users"
        self.mail_dir = self.directory / "mail"
        self.dovecot_log = self.directory / "dovecot.log"

    def add_user(self, address: str, password: str) -> None:
        """Add an IMAP account; usable at once, also while the server runs.

        Dovecot re-reads the users file when its size or mtime changed, but stats it at
        most once per second of its event loop (db-passwd-file.c, passwd_file_sync). A
        login in the same second as our write could be served the stale copy, so when
        running we return only once the wall clock has entered the next second.
        """
        if any(ch in value for value in (address, password) for ch in ":\r\n") or not address:
            raise ValueError("address/password must be non-empty and free of ':' and newlines")
        with self.users_path.open("a") as users:
            users.write(f"{address}:{{PLAIN}}{password}::::::\n")
        written_at = time.time()
        if self.running:
            time.sleep(max(0.0, math.floor(written_at) + 1.02 - time.time()))

    def append(self, user: str, password: str, raw: bytes, mailbox: str = "INBOX") -> int | None:
        """Deliver ``raw`` (an RFC 5322 message) into ``mailbox``; return its UID.

        IMAP APPEND is how a test delivers mail: to a watcher it looks exactly like an
        MTA's delivery. Missing mailboxes are created; names must be ASCII.
        """
        with imaplib.IMAP4(self.host, self.port, timeout=10) as imap:
            imap.login(user, password)
            quoted = '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
            if mailbox.upper() != "INBOX":
                imap.create(quoted)  # answers NO if it exists, which is fine
            status, data = imap.append(quoted, None, None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND to {mailbox!r} failed: {data!r}")
        match = _APPENDUID.search(data[0] or b"") if data and isinstance(data[0], bytes) else None
        return int(match.group(1)) if match else None

    @staticmethod
    def _find_mail_owner() -> pwd.struct_passwd:
        if os.geteuid() != 0:
            return pwd.getpwuid(os.geteuid())
        try:
            return pwd.getpwnam("dovecot")
        except KeyError:
            raise _missing("system user 'dovecot'", "dovecot-core") from None

    def _prepare(self) -> None:
        # Dovecot's unprivileged processes must read the users file and walk into $D.
        self.directory.chmod(0o755)
        self.mail_dir.mkdir()
        os.chown(self.mail_dir, self._mail_owner.pw_uid, self._mail_owner.pw_gid)
        self.users_path.touch()
        self.users_path.chmod(0o644)

    def _before_start(self) -> None:
        # Not root: every Dovecot process runs as us, instead of dovecot/dovenull.
        internal = ""
        if os.geteuid() != 0:
            me = self._mail_owner.pw_name
            internal = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
        self.config_path.write_text(
            _DOVECOT_CONF.format(
                d=self.directory,
                host=self.host,
                port=self.port,
                internal_users=internal,
                mail_user=self._mail_owner.pw_name,
                mail_group=self._mail_owner.pw_gid,
            )
        )

    def _command(self) -> list[str]:
        # -F keeps the master in the foreground, so it is our child and we can stop it.
        return [self.binary, "-F", "-c", str(self.config_path)]

    def _log_files(self) -> list[Path]:
        return [self.log_path, self.dovecot_log]

    def _is_ready(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False
