"""The built wheel serves the app: build it from a copy of the source, install it into a fresh
virtualenv (dependencies borrowed from the project's own environment, no network), start
``switchboard serve --host/--port`` from outside the checkout, and load / and the widget."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("server", "adapters", "web", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")
PIP = (sys.executable, "-m", "pip")
pytestmark = pytest.mark.slow


def build_wheel(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, src / name)
    out = tmp / "dist"
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        check=True,
        cwd=tmp,
    )
    [wheel] = out.glob("switchboard-*.whl")
    return wheel


def fresh_venv(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [*PIP, "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        cwd=tmp,
    )
    # The dependencies come from this environment's site-packages as a plain path entry: its
    # .pth files (the editable install of the checkout) are not run, so `server` is the wheel's.
    here = next(p for p in site.getsitepackages() if p.endswith("site-packages"))
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "zz_project_deps.pth").write_text(here + "\n")
    return venv


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    yield fresh_venv(tmp_path, build_wheel(tmp_path))


def test_the_installed_wheel_serves_the_app_and_the_widget(installed: Path, tmp_path: Path) -> None:
    python = installed / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import server; print(server.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    assert where.startswith(str(installed)), where  # the wheel's copy, not the checkout
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")},
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHBOARD_PORT": str(free_port()),  # the flag wins over the variable
    }
    serve = [str(installed / "bin" / "switchboard"), "serve", "--host", "127.0.0.1"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*serve, "--port", str(port)], cwd=tmp_path, env=env, stdout=out, stderr=out
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, proc, log)
        page = httpx.get(base + "/")
        assert page.status_code == 200 and "<title>Switchboard</title>" in page.text
        for path in ("/web/app.js", "/web/widget/widget.js", "/web/css/app.css"):
            asset = httpx.get(base + path)
            assert asset.status_code == 200, path
            assert asset.content == (ROOT / path.removeprefix("/")).read_bytes(), path
    finally:
        proc.terminate()
        proc.wait()


def wait_until_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"switchboard serve exited: {log.read_text()}")
        try:
            if httpx.get(base + "/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)


def test_serve_rejects_a_bad_port_flag(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(installed / "bin" / "switchboard"), "serve", "--port", "http"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "expected a port number" in done.stderr
