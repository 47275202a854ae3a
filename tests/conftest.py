"""Shared fixtures: synthetic MIDI files and Snakemake runs in throw-away working copies."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIGS = Path(__file__).resolve().parent / "configs"


def write_midi(path: Path, *tracks: list[tuple[int, float, float]], drums: list | None = None, tempo: float = 120.0) -> Path:
    """Write a MIDI file: each track is a list of (pitch, start s, end s); ``drums`` a drum track."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    for notes in tracks:
        inst = pretty_midi.Instrument(program=0)
        inst.notes = [pretty_midi.Note(velocity=80, pitch=p, start=s, end=e) for p, s, e in notes]
        pm.instruments.append(inst)
    if drums:
        inst = pretty_midi.Instrument(program=0, is_drum=True)
        inst.notes = [pretty_midi.Note(velocity=80, pitch=p, start=s, end=e) for p, s, e in drums]
        pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def copy_workflow(dest: Path) -> Path:
    """A throw-away copy of the workflow and the library, so tests can edit either."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / name, dest / name)
    for name in ("workflow", "bayesbach", "presets", "tests/configs"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir`` (importing the library of that copy) and return the finished process."""
    env = dict(os.environ, PYTHONPATH=str(workdir), OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def planned_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Rules a dry run would execute, with their job counts (from Snakemake's job-stats table)."""
    out = snakemake(workdir, "-n", *args).stdout
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.fixture
def workflow_copy(tmp_path: Path) -> Path:
    return copy_workflow(tmp_path)
