"""The run directory every runner shares: one process at a time, problems found before any work,
resumes of the same run only, rows that survive a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tools.run_dir import FORMAT_VERSION, RunDirectory, RunError, last_per_key, read_results

REPO = Path(__file__).resolve().parent.parent

HOLD = ("import sys, time; from tools.run_dir import RunDirectory\n"
        "with RunDirectory(sys.argv[1], 'bench'):\n"
        "    print('locked', flush=True); time.sleep(60)")


def _holder(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_process_refuses_at_once_naming_the_holder(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "run")
    try:
        with pytest.raises(RunError, match=rf"is in use by another process \(pid {holder.pid}\); wait for it"):
            RunDirectory(tmp_path / "run", "bench").open()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with RunDirectory(tmp_path / "run", "bench"):  # the kernel dropped the dead holder's lock
        assert (tmp_path / "run" / ".lock").read_text() == f"{os.getpid()}\n"


def test_the_record_is_started_then_resumed_only_with_the_same_identity(tmp_path: Path) -> None:
    with RunDirectory(tmp_path, "label") as run_dir:
        first = run_dir.start_or_resume({"model": "m", "k": 20}, new={"created": "then"}, latest={"units": "a"})
        stamp = {"kind": "label", "format_version": FORMAT_VERSION}
        assert first == {**stamp, "model": "m", "k": 20, "created": "then", "units": "a"}
        again = run_dir.start_or_resume({"model": "m", "k": 20}, new={"created": "now"}, latest={"units": "a b"})
        assert again == {**stamp, "model": "m", "k": 20, "created": "then", "units": "a b"}
        assert json.loads((tmp_path / "config.json").read_text()) == again
        with pytest.raises(RunError, match=r"holds a label run with other settings \(k: was 20, now 10\)"):
            run_dir.start_or_resume({"model": "m", "k": 10})


def test_damaged_records_and_orphan_rows_are_refused_when_opened(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "run.json").write_text('{"suite": "x", "ba')
    with pytest.raises(RunError, match=r"run.json is damaged \(.*\); restore it or choose another --out"):
        RunDirectory(tmp_path / "a", "bench").open()
    (tmp_path / "a" / "run.json").write_text("[1, 2]")
    with pytest.raises(RunError, match=r"damaged \(a JSON list, not an object\)"):
        RunDirectory(tmp_path / "a", "bench").open()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "results.jsonl").write_text('{"key": "numeric/f00000"}\n')
    with pytest.raises(RunError, match="results.jsonl exists without run.json: it belongs to another run"):
        RunDirectory(tmp_path / "b", "bench").open()
    (tmp_path / "b" / "run.json").write_text("{}")
    with RunDirectory(tmp_path / "b", "bench"):  # the refusal left the directory unlocked
        pass


def test_rows_survive_a_torn_line_and_the_last_row_of_a_key_wins(tmp_path: Path) -> None:
    with RunDirectory(tmp_path, "bench") as run_dir:
        run_dir.start_or_resume({"backend": "b"})
        run_dir.append({"key": "a", "score": 0.0})
        run_dir.append({"key": "b", "score": 1.0})
        run_dir.append({"key": "a", "score": 0.5})
        with open(tmp_path / "results.jsonl", "a") as fh:
            fh.write('{"key": "c", "sco')  # cut short by kill -9
        assert read_results(tmp_path / "results.jsonl") == run_dir.rows()
        assert (tmp_path / "results.jsonl").read_bytes().endswith(b"}\n")  # the torn line is gone
        v = FORMAT_VERSION  # every row written through a RunDirectory carries it
        assert last_per_key(run_dir.rows(), "key") == {"a": {"format_version": v, "key": "a", "score": 0.5},
                                                       "b": {"format_version": v, "key": "b", "score": 1.0}}
    with pytest.raises(RunError, match="writing to a run directory needs its lock"):
        run_dir.append({"key": "d"})


@pytest.mark.parametrize(("files", "kind"), [
    ({"session.json": {"model": "m"}, "transcript.jsonl": None}, "chat"),
    ({"config.json": {"model": "m"}}, "label"),
    ({"labels.jsonl": None}, "label"),
    ({"config.json": {"model": "m"}, "labels.jsonl": None, "check_heads.json": {"n": 1}}, "label"),
    ({"run.json": {"suite": "s"}, "results.jsonl": None}, "bench"),
    ({"results.jsonl": None}, "bench"),
    ({"check.json": {"judge": "j"}, "planted.jsonl": None}, "check-planted"),
])
def test_directories_written_before_records_carried_a_kind_are_known_by_their_files(
        tmp_path: Path, files: dict, kind: str) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text("" if content is None else json.dumps(content))
    assert RunDirectory.open_existing(tmp_path)[0] == kind


def test_a_record_names_its_kind_and_an_old_one_gains_it_on_resume(tmp_path: Path) -> None:
    with RunDirectory(tmp_path / "new", "check-planted") as run_dir:
        run_dir.start_or_resume({"judge": "j"})
    assert RunDirectory.open_existing(tmp_path / "new") == (
        "check-planted", {"kind": "check-planted", "format_version": FORMAT_VERSION, "judge": "j"})
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "run.json").write_text(json.dumps({"suite": "s"}))
    with RunDirectory(tmp_path / "old", "bench") as run_dir:
        assert run_dir.start_or_resume({"suite": "s"}) == {"kind": "bench", "suite": "s"}   # still version 0
        assert run_dir.update_record(note="x")["note"] == "x"
    # a record whose kind is not its file's is refused, by readers and by writers
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "config.json").write_text(json.dumps({"kind": "bench"}))
    with pytest.raises(RunError, match=r"config.json is a record of kind 'bench', expected 'label'"):
        RunDirectory.open_existing(tmp_path / "odd")
    with pytest.raises(RunError, match=r"record of a 'bench' directory, not of a label run"):
        RunDirectory(tmp_path / "odd", "label").open()
    (tmp_path / "odd" / "config.json").write_text(json.dumps({"kind": "label", "format_version": FORMAT_VERSION + 1}))
    with pytest.raises(RunError, match=r"newer than this aia reads"):
        RunDirectory(tmp_path / "odd", "label").open()
    with pytest.raises(RunError, match=r"holds no run: none of a chat session \(session.json\), a label run"):
        RunDirectory.open_existing(tmp_path)
    with pytest.raises(ValueError, match="unknown kind"):
        RunDirectory(tmp_path, "benchmark")
