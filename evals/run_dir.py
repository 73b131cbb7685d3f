"""A run directory: the unit of work and of record of `aia bench`, `aia label` and `aia check`.

Each of those commands keeps one run in one directory: a record of what the run is (`run.json`,
`config.json`, `check.json`), a file of result rows (`results.jsonl`, `labels.jsonl`,
`planted.jsonl`) and whatever else it writes. The rules they share live here, once:

- One process at a time. `RunDirectory` holds an `fcntl.flock` on `RUN_DIR/.lock` for the whole
  run and writes its PID there; a second process refuses at once, naming the holder. (Two
  processes on one directory once wrote every row twice.) The kernel drops the lock when its
  holder dies, so a `kill -9` never leaves a directory locked.
- Problems show before any work: a directory that cannot be written, a damaged record, or rows
  without a record (left by another run) are refused when the directory is opened, not after
  minutes of work.
- A resume must be the same run: the record's identity is compared, field by field.
- Rows are appended one JSON line at a time and fsynced; a line torn by a crash is cut off when
  the run resumes, so its row is produced again. When a key has several rows (a unit labeled
  again, a rescored run), the last one counts.
- What was in flight when the process died is known: each key is marked in `RUN_DIR/inflight.log`
  before its work starts. A resume reruns a key that was in flight once (Ctrl-C, a reboot); a key
  that was in flight at `MAX_KILLS` deaths of the whole process is taken to be what kills it, and
  gets a final row instead of stalling every resume.
- A run's dollars are its rows' (`SpendingCap`): with `--max-usd`, no new work starts once they
  reach the cap, a resume counting what the directory's rows already spent.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

LOCK = ".lock"
INFLIGHT = "inflight.log"

#: Deaths of the whole process with a key in flight after which that key is not tried again.
MAX_KILLS = 2


class RunError(Exception):
    """A run that cannot start or go on (a locked or unwritable directory, another run's files, ...)."""


def read_results(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """The complete JSON lines of a rows file. A torn last line is skipped; with `repair` it is
    also cut off the file (only the directory's lock holder may repair)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    complete, _, torn = data.rpartition(b"\n")
    if torn and repair:
        with open(path, "r+b") as fh:
            fh.truncate(len(complete) + 1 if complete else 0)
    rows = []
    for n, line in enumerate(complete.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise RunError(f"{path}:{n} is not valid JSON ({e}); fix or remove that line") from e
    return rows


def last_per_key(rows: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """One row per `key` value: the last one (a resumed, relabeled or rescored run means it)."""
    return {row[key]: row for row in rows}


def versions(packages: Iterable[str] = ("aia", "torch", "transformers", "nnsight", "openai", "anthropic")
             ) -> dict[str, str]:
    """Python's and the installed packages' versions, for a run's record."""
    out = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def row_cost(row: Mapping[str, Any]) -> float:
    """The dollars a row's work spent (0 without usage)."""
    return float((row.get("usage") or {}).get("cost_usd") or 0.0)


class SpendingCap:
    """A whole run's dollars: what its rows spent, and whether `max_usd` (None: no cap) is spent."""

    def __init__(self, max_usd: float | None, rows: Iterable[Mapping[str, Any]] = ()) -> None:
        self.max_usd = max_usd
        self.spent = sum(row_cost(r) for r in rows)

    def add(self, row: Mapping[str, Any]) -> None:
        self.spent += row_cost(row)

    def exhausted(self) -> bool:
        return self.max_usd is not None and self.spent >= self.max_usd


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class RunDirectory:
    """One run's directory, locked for this process while open (use it as a context manager).

    `record` names the file saying what the run is, `rows` the file of result rows; `what`
    names the run in messages ("bench run", "label run", ...).
    """

    def __init__(self, path: Path, record: str, rows: str, what: str = "run") -> None:
        self.path = Path(path)
        self.record_path = self.path / record
        self.rows_path = self.path / rows
        self.what = what
        self._lock_fd: int | None = None

    def __enter__(self) -> RunDirectory:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the lock --------------------------------------------------------------------------------

    def open(self) -> None:
        """Create the directory if needed, check it can be written, lock it, and check that what
        it holds can be resumed; a RunError (one line, naming the problem) otherwise."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunError(f"cannot create the run directory {self.path}: {e.strerror}") from None
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise RunError(f"{self.path} is not writable; choose another --out")
        try:
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise RunError(f"{self.path} is not writable ({e.strerror}); choose another --out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise RunError(f"{self.path} is in use by another process (pid {holder}); wait for it to finish "
                           "or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        try:
            record = self.read_record()
            if record is None and self.rows_path.exists() and self.rows_path.stat().st_size:
                raise RunError(f"{self.rows_path} exists without {self.record_path.name}: it belongs to another "
                               "run; choose another --out")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the lock (the lock file stays; an unlocked one means nobody holds the directory)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _require_lock(self) -> None:
        if self._lock_fd is None:
            raise RunError(f"{self.path} is not open: writing to a run directory needs its lock")

    # -- the record ------------------------------------------------------------------------------

    def read_record(self) -> dict[str, Any] | None:
        """The run's record, None when there is none yet; a RunError when it is damaged."""
        if not self.record_path.exists():
            return None
        try:
            record = json.loads(self.record_path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RunError(f"{self.record_path} is damaged ({e}); restore it or choose another --out") from None
        if not isinstance(record, dict):
            raise RunError(f"{self.record_path} is damaged (a JSON {type(record).__name__}, not an object); "
                           "restore it or choose another --out")
        return record

    def start_or_resume(self, identity: Mapping[str, Any], new: Mapping[str, Any] | None = None,
                        latest: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The run's record. A new run writes `identity`, `new` (what is fixed when a run starts:
        seeds, versions) and `latest` (what the latest request may change); a resume must have the
        same `identity`, and its record takes `latest`."""
        self._require_lock()
        old = self.read_record()
        if old is None:
            record = {**identity, **(new or {}), **(latest or {})}
        else:
            clash = {k: (old.get(k), v) for k, v in identity.items() if old.get(k) != v}
            if clash:
                detail = ", ".join(f"{k}: was {a!r}, now {b!r}" for k, (a, b) in clash.items())
                raise RunError(f"{self.path} holds a {self.what} with other settings ({detail}); resume it with "
                               "the same options or choose another --out")
            record = {**old, **(latest or {})}
            if record == old:
                return old
        self._replace(self.record_path, json.dumps(record, indent=1) + "\n")
        return record

    # -- the rows --------------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        """Every complete row, a torn last line cut off the file first."""
        self._require_lock()
        return read_results(self.rows_path, repair=True)

    def append(self, row: Mapping[str, Any]) -> None:
        """Append one row, on disk (fsynced) before this returns."""
        self._require_lock()
        with open(self.rows_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def mark_in_flight(self, key: str) -> None:
        """Note (fsynced) that work on `key` starts now; its row, once appended, supersedes the note."""
        self._require_lock()
        with open(self.path / INFLIGHT, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def killed_in_flight(self, done: Iterable[str]) -> dict[str, int]:
        """Keys without a row that were in flight when this directory's process died, with how many
        times that happened (each start of a key without a row is one death with it in flight)."""
        self._require_lock()
        finished = set(done)
        counts: dict[str, int] = {}
        for row in read_results(self.path / INFLIGHT, repair=True):
            if row["key"] not in finished:
                counts[row["key"]] = counts.get(row["key"], 0) + 1
        return counts

    def replace_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Write all rows at once (atomically: readers see the old file or the new one)."""
        self._require_lock()
        self._replace(self.rows_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))

    def _replace(self, path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
