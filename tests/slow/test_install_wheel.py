"""The built wheel installs into a fresh virtual environment and its ``internlm-tui`` works.

What ``pipx install .`` / ``uv tool install .`` do, without re-downloading torch: the fresh
environment sees the shared environment's packages through a ``.pth`` file (``pip check`` then
confirms every declared dependency is present), while the app itself comes only from the wheel
(the shared environment's editable install is not activated from there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_installs_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        timeout=300,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("internlm_tui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tui/app.tcss" in names and "themes/internlm-dark.toml" in names  # package data
    assert not [n for n in names if n.startswith(("tests/", "testkit/"))]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata

    env_dir = tmp_path / "tool-env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        # --force-reinstall: the shared environment's editable install is visible through the .pth
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
        check=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    checked = subprocess.run(
        [str(python), "-m", "pip", "check"], capture_output=True, text=True, cwd=tmp_path
    )
    assert "internlm-tui" not in checked.stdout, checked.stdout  # every dependency it declares is there
    tool = env_dir / "bin" / "internlm-tui"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "INTERNLM_TUI_DB")}
    where = subprocess.run(
        [str(python), "-c", "import tui; print(tui.__file__)"],
        capture_output=True,
        text=True,
        env=clean,
        cwd=tmp_path,  # not the checkout, which python -c would put first on sys.path
    )
    assert where.stdout.strip().startswith(site), where  # the wheel's copy, not the checkout's
    shown = subprocess.run(
        [str(tool), "--help"], capture_output=True, text=True, env=clean, timeout=60, cwd=tmp_path
    )
    assert shown.returncode == 0 and "usage: internlm-tui" in shown.stdout
    listed = subprocess.run(
        [str(tool), "--list", "--db", str(tmp_path / "h.sqlite3")],
        capture_output=True,
        text=True,
        env=clean,
        cwd=tmp_path,
    )
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    download_help = subprocess.run(
        [str(tool), "download", "--help"], capture_output=True, text=True, env=clean, timeout=60, cwd=tmp_path
    )
    assert download_help.returncode == 0 and "--hub {hf,modelscope}" in download_help.stdout
