"""Session fixture for the end-to-end tests: one real `wharf serve` on 127.0.0.1, shut down gracefully."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 15.0
POLL_INTERVAL_S = 0.05
SHUTDOWN_TIMEOUT_S = 15.0
START_ATTEMPTS = 3  # a fresh port per attempt, only if another process grabbed the one we picked
LOG_TAIL_CHARS = 20_000

# Settings the server reads from the environment; the test server must not inherit them.
_SERVER_ENV_VARS = (
    "WHARF_CONFIG", "WHARF_LISTEN", "PORT", "WHARF_DATA_DIR", "REGISTRY_DATA_DIR", "DATA_DIR",
    "WHARF_BASE_URL", "REGISTRY_URL", "BASE_URL", "WHARF_LOG_LEVEL", "WHARF_LOG_FORMAT",
    "WHARF_MAX_MANIFEST_BYTES", "WHARF_MAX_BLOB_BYTES",
)

_server_log: Path | None = None  # set once the server starts; read by the report hook below


@dataclass(frozen=True)
class Registry:
    host: str  # "127.0.0.1:<port>", as image references spell it
    url: str  # "http://127.0.0.1:<port>"
    log: Path  # the server's stdout+stderr


def wharf_bin() -> Path:
    path = Path(os.environ.get("WHARF_BIN") or REPO_ROOT / "target" / "debug" / "wharf")
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.exit(f"wharf binary not found or not executable: {path} (set WHARF_BIN)", returncode=2)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_log(log: Path) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError as e:
        return f"<could not read {log}: {e}>"
    return text if len(text) <= LOG_TAIL_CHARS else "...\n" + text[-LOG_TAIL_CHARS:]


def health_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=0.5) as res:
            return res.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return None


def wait_healthy(proc: subprocess.Popen, url: str) -> str | None:
    """Polls /health until 200. Returns None when healthy, else why not."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    for _ in range(int(STARTUP_TIMEOUT_S / POLL_INTERVAL_S) + 1):
        if proc.poll() is not None:
            return f"wharf exited during startup with code {proc.returncode}"
        if health_status(url) == 200:
            return None
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_INTERVAL_S)
    return f"GET {url}/health did not answer 200 within {STARTUP_TIMEOUT_S:.0f} s"


def stop(proc: subprocess.Popen) -> int | None:
    """SIGTERM, then a bounded wait. Returns the exit code, or None if it had to be killed."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
        return None


@contextlib.contextmanager
def running_wharf(root: Path, extra_env: dict[str, str] | None = None):
    """Starts wharf on a free port with a fresh data dir under `root` (and `extra_env`); yields
    its address; on exit asserts a clean exit on SIGTERM."""
    global _server_log
    binary = wharf_bin()
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_VARS}
    env["NO_COLOR"] = "1"
    env.update(extra_env or {})

    proc = None
    failures = []
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = root / f"wharf-{attempt}.log"
        data_dir = root / f"data-{attempt}"
        with open(log, "wb") as log_file:
            # cwd=root: a ./wharf.toml in the caller's directory must not configure the server.
            proc = subprocess.Popen(
                [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir)],
                cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            )
        why = wait_healthy(proc, url)
        if why is None:
            break
        stop(proc)
        failures.append(f"attempt {attempt} on port {port}: {why}\n--- {log} ---\n{read_log(log)}")
        proc = None
        if "address already in use" not in read_log(log).lower():
            break  # only a lost race for the port is worth another try
    if proc is None:
        pytest.fail("wharf did not start:\n" + "\n".join(failures), pytrace=False)

    _server_log = log
    try:
        yield Registry(host=f"127.0.0.1:{port}", url=url, log=log)
    finally:
        code = stop(proc)
        _server_log = None
        if code != 0:
            print(f"\n--- wharf log ({log}) ---\n{read_log(log)}")
        assert code is not None, f"wharf ignored SIGTERM for {SHUTDOWN_TIMEOUT_S:.0f} s and was killed"
        assert code == 0, f"wharf exited with code {code} on SIGTERM (expected a graceful 0)"


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory):
    """A running wharf with a fresh data dir and no tokens, shared by the session."""
    with running_wharf(tmp_path_factory.mktemp("wharf")) as reg:
        yield reg


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attaches the server log to the report of every failing test."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _server_log is not None:
        report.sections.append(("wharf server log", read_log(_server_log)))
