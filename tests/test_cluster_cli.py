"""``musicsim scan --ray`` without a cluster: the words a user gets (no Ray needed for these tests)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import musicsim.cluster as cluster
from musicsim.cli import main
from musicsim.cluster.plan import plan_for


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, err.getvalue()


def test_scan_with_ray_but_without_ray_says_how_to_get_it(music_dir: Path, model_file: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "ray_available", lambda: False)
    code, err = run("scan", str(music_dir), "--ray", "auto", "--model", str(model_file), "--data-dir", str(tmp_path))
    assert code == 1
    assert "needs Ray" in err and "pip install 'musicsim[cluster]'" in err and "Traceback" not in err
    assert "Catalogued" not in err  # it stopped before the folder walk


def test_workers_and_ray_do_not_mix(music_dir: Path, model_file: Path, tmp_path: Path) -> None:
    code, err = run("scan", str(music_dir), "--ray", "auto", "--workers", "2", "--model", str(model_file),
                    "--data-dir", str(tmp_path))
    assert code == 1 and "--workers is for scans on this machine" in err


@pytest.mark.parametrize(("cpus", "gpus", "actors", "threads", "batch"), [
    (2, 0, 1, 2, 32),  # the test cluster: one CPU actor, inference on 3/4 of the cores
    (16, 0, 4, 3, 32),  # one 16-core node: an actor per 4 cores, 3 inference threads each
    (64, 4, 4, 1, 512),  # GPUs: one actor each, large batches across tracks
    (1, 0, 1, 1, 32),
])
def test_plan(cpus: int, gpus: int, actors: int, threads: int, batch: int) -> None:
    plan = plan_for(cpus, gpus)
    assert (plan.actors, plan.threads, plan.batch_patches) == (actors, threads, batch)
    assert plan.max_decoding == 2 * cpus and plan.max_waiting >= cpus


def test_plan_needs_cpus() -> None:
    with pytest.raises(ValueError, match="no CPUs"):
        plan_for(0, 1)
