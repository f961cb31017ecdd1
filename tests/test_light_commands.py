"""Commands that only read the library never import torch nor Qt (nor Ray); scanning on a CPU needs no torch either.

Each command runs in a fresh interpreter (``python -m musicsim ...``), then reports which heavy modules
it imported. Timing is the benchmarks' business (benchmarks/bench_cli.py), never a test's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "PySide6", "onnxruntime", "onnx", "sklearn", "matplotlib", "librosa", "ray")
# Runs the CLI in this interpreter, then prints the heavy modules it loaded as the last line of stderr.
RUNNER = f"""
import json, sys
from musicsim.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r})
sys.stderr.write('\\n' + json.dumps({{"code": code, "heavy": sorted({{m.split('.')[0] for m in heavy}})}}) + '\\n')
sys.exit(0)
"""


def run_cli(*argv: str, env_dir: Path) -> tuple[int, set[str], str]:
    proc = subprocess.run([sys.executable, "-c", RUNNER, *argv], cwd=REPO, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(env_dir),
                               "MUSICSIM_DATA_DIR": str(env_dir / "data")},
                          timeout=300)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["code"], set(report["heavy"]), proc.stdout


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, music_dir: Path, model_file: Path) -> tuple[Path, Path]:
    home = tmp_path_factory.mktemp("home")
    code, heavy, _ = run_cli("scan", str(music_dir), "--model", str(model_file), "--device", "cpu", "--workers", "2",
                             env_dir=home)
    assert code == 0
    assert heavy <= {"onnxruntime"}, heavy  # on a CPU: ONNX Runtime (in the workers), never torch or Qt
    return home, model_file


@pytest.mark.parametrize("argv", [
    ["status"], ["status", "--json"], ["genres", "--json"], ["problems"],
    ["similar", "deep water", "--json"], ["export", "deep water", "--out", "{home}/list.m3u8"],
])
def test_reading_commands_import_nothing_heavy(scanned: tuple[Path, Path], argv: list[str]) -> None:
    home, model = scanned
    argv = [a.format(home=home) for a in argv]
    code, heavy, out = run_cli(*argv, "--model", str(model), env_dir=home)
    assert code == 0, (argv, out)
    assert not heavy, f"musicsim {' '.join(argv)} imported {sorted(heavy)}"
    if argv == ["similar", "deep water", "--json"]:
        assert len(json.loads(out)) >= 1  # it really answered from the library
    if argv == ["status", "--json"]:
        status = json.loads(out)
        assert status["analysed"] == 6 and status["model_version"] == "test-1" and status["device"].startswith("CPU")
