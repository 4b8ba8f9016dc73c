"""Packaging hook: everything else is declared in pyproject.toml.

The browser app and the widget (web/) are plain files served by the server, not Python
modules; the wheel carries them inside the package as server/web/, where server/app.py
looks first (a source checkout serves web/ from the repository root instead)."""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEB = Path(__file__).resolve().parent / "web"


class BuildPyWithWeb(build_py):
    def run(self) -> None:
        super().run()
        if WEB.is_dir():
            self.copy_tree(str(WEB), str(Path(self.build_lib) / "server" / "web"))


setup(cmdclass={"build_py": BuildPyWithWeb})
