"""A run directory: the unit of work and of record of `aia bench`, `aia label`, `aia check` and
`aia chat`.

Each of those commands keeps one run in one directory: a record of what the run is (`run.json`,
`config.json`, `check.json`, `check_heads.json`, `session.json`), a file of result rows
(`results.jsonl`, `labels.jsonl`, `planted.jsonl`, a chat's `transcript.jsonl`) and whatever else
it writes. The rules they share live here, once:

- A record says what it is: its `kind` (a key of `KINDS`) and `format_version`. Directories
  written before records carried them stay readable: `RunDirectory.open_existing` infers their
  kind from the record's file name, here and nowhere else. Every row written through a
  `RunDirectory` carries the `format_version` too; a row without one predates that and reads as
  it is.
- A directory holds one kind of run: opening it for another kind is refused (a bench run's
  `--out` pointed at a label run would overwrite that run's summary).

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

#: The version of the records and rows written now; a record without one predates versioning (0).
FORMAT_VERSION = 1

#: Each kind of run directory: its record file, its rows file and what messages call it. The
#: order is the one in which `open_existing` looks for a record (a heads check's directory is a
#: label run's with `check_heads.json` beside it, so it reads as a label run).
KINDS: dict[str, tuple[str, str, str]] = {
    "chat": ("session.json", "transcript.jsonl", "chat session"),
    "label": ("config.json", "labels.jsonl", "label run"),
    "bench": ("run.json", "results.jsonl", "bench run"),
    "check-planted": ("check.json", "planted.jsonl", "planted check"),
    "check-heads": ("check_heads.json", "labels.jsonl", "heads check"),
    "localize": ("localize.json", "effects.jsonl", "localize run"),
}

#: Kinds whose directories another kind may also open: a heads check is a label run with
#: check_heads.json beside it, written by `aia check heads` after labeling.
_SHARES: dict[str, tuple[str, ...]] = {"label": ("check-heads",), "check-heads": ("label",)}

#: Deaths of the whole process with a key in flight after which that key is not tried again.
MAX_KILLS = 2


class RunError(Exception):
    """A run that cannot start or go on (a locked or unwritable directory, another run's files, ...)."""


def read_results(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """The complete JSON lines of a rows file. A torn last line is skipped; with `repair` it is
    also cut off the file (only the directory's lock holder may repair). A row without a
    `format_version` predates stamped rows (version 0) and reads as it is; a newer one is refused."""
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
                row = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise RunError(f"{path}:{n} is not valid JSON ({e}); fix or remove that line") from e
            if not isinstance(row, dict):
                raise RunError(f"{path}:{n} is not a JSON object; fix or remove that line")
            version = row.get("format_version", 0)
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise RunError(f"{path}:{n} has format_version {version!r}, newer than this aia reads "
                               f"({FORMAT_VERSION}); upgrade aia")
            rows.append(row)
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


def stamped(kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """`record` with its `kind` and the current `format_version` first."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of run directory {kind!r} (one of {', '.join(KINDS)})")
    return {"kind": kind, "format_version": FORMAT_VERSION,
            **{k: v for k, v in record.items() if k not in ("kind", "format_version")}}


def stamped_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """`row` with the current `format_version` (a row read from an older file keeps its own, so a
    rewrite such as a rescore does not claim a format the row was not written in)."""
    return {"format_version": FORMAT_VERSION, **row}


class RunDirectory:
    """One run's directory, locked for this process while open (use it as a context manager).

    `kind` (a key of `KINDS`) names the record file saying what the run is and the file of result
    rows; messages call the run `what` (by default the kind's name: "bench run", "label run", ...).
    """

    def __init__(self, path: Path, kind: str, what: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind of run directory {kind!r} (one of {', '.join(KINDS)})")
        record, rows, name = KINDS[kind]
        self.path = Path(path)
        self.kind = kind
        self.record_path = self.path / record
        self.rows_path = self.path / rows
        self.what = what or name
        #: What a person does instead when the directory cannot be used.
        self.elsewhere = "start a new session" if kind == "chat" else "choose another --out"
        self._lock_fd: int | None = None

    @staticmethod
    def open_existing(path: Path) -> tuple[str, dict[str, Any] | None]:
        """What an existing directory holds, without locking it: its kind and its record (None
        when there is none yet). The kind is the record's `kind`; a record written before records
        carried one, or rows without a record yet, are known by their file names. A RunError when
        `path` holds no run (or is not a directory), or a record whose `kind` is not its file's."""
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"{path} is not a directory (expected a run or session directory)")
        for kind, (record, _, _) in KINDS.items():
            if (path / record).is_file():
                found = RunDirectory(path, kind)._load_record() or {}
                if found.get("kind", kind) != kind:
                    raise RunError(f"{path / record} is a record of kind {found['kind']!r}, expected {kind!r}")
                return kind, found
        for kind, (_, rows, _) in KINDS.items():
            if kind != "chat" and (path / rows).is_file():   # rows before the record: an older run's layout
                return kind, None
        names = ", ".join(f"a {what} ({record if kind == 'chat' else f'{record}, {rows}'})"
                          for kind, (record, rows, what) in KINDS.items())
        raise RunError(f"{path} holds no run: none of {names}")

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
            raise RunError(f"{self.path} is not writable; {self.elsewhere}")
        try:
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise RunError(f"{self.path} is not writable ({e.strerror}); {self.elsewhere}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise RunError(f"{self.path} is in use by another process (pid {holder}); wait for it to finish "
                           f"or {self.elsewhere}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        try:
            self._refuse_other_kind()
            record = self.read_record()
            if record is None and self.rows_path.exists() and self.rows_path.stat().st_size:
                raise RunError(f"{self.rows_path} exists without {self.record_path.name}: it belongs to another "
                               f"run; {self.elsewhere}")
        except BaseException:
            self.close()
            raise

    def _refuse_other_kind(self) -> None:
        """A RunError when the directory holds another kind of run (`aia bench --out` a label run
        would otherwise write its record beside the label run's and overwrite its summary.json)."""
        try:
            kind, _ = RunDirectory.open_existing(self.path)
        except RunError:
            return  # empty, or nothing of a run in it: ours to start (a damaged record is read_record's)
        if kind != self.kind and kind not in _SHARES.get(self.kind, ()):
            record, rows, what = KINDS[kind]
            raise RunError(f"{self.path} holds a {what} ({record if (self.path / record).exists() else rows}), "
                           f"not a {self.what}; {self.elsewhere}")

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
        """The run's record, None when there is none yet; a RunError when it is damaged, newer than
        this code reads, or says it is another kind of run's."""
        record = self._load_record()
        if record is not None and record.get("kind", self.kind) != self.kind:
            raise RunError(f"{self.record_path} is the record of a {record['kind']!r} directory, not of a "
                           f"{self.what}; choose another directory")
        return record

    def _load_record(self) -> dict[str, Any] | None:
        if not self.record_path.exists():
            return None
        try:
            record = json.loads(self.record_path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RunError(f"{self.record_path} is damaged ({e}); restore it or {self.elsewhere}") from None
        if not isinstance(record, dict):
            raise RunError(f"{self.record_path} is damaged (a JSON {type(record).__name__}, not an object); "
                           f"restore it or {self.elsewhere}")
        version = record.get("format_version", 0)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise RunError(f"{self.record_path} has format_version {version!r}, newer than this aia reads "
                           f"({FORMAT_VERSION}); upgrade aia or choose another directory")
        return record

    def start_or_resume(self, identity: Mapping[str, Any], new: Mapping[str, Any] | None = None,
                        latest: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The run's record. A new run writes `identity`, `new` (what is fixed when a run starts:
        seeds, versions) and `latest` (what the latest request may change); a resume must have the
        same `identity`, and its record takes `latest`. A new record carries the run's `kind` and
        `format_version`; an older record gains its `kind` when it is resumed."""
        self._require_lock()
        old = self.read_record()
        if old is None:
            record = stamped(self.kind, {**identity, **(new or {}), **(latest or {})})
        else:
            clash = {k: (old.get(k), v) for k, v in identity.items() if old.get(k) != v}
            if clash:
                detail = ", ".join(f"{k}: was {a!r}, now {b!r}" for k, (a, b) in clash.items())
                raise RunError(f"{self.path} holds a {self.what} with other settings ({detail}); resume it with "
                               f"the same options or {self.elsewhere}")
            record = {"kind": self.kind, **old, **(latest or {})}
            if record == old:
                return old
        self._replace(self.record_path, json.dumps(record, indent=1) + "\n")
        return record

    def update_record(self, **updates: Any) -> dict[str, Any]:
        """Rewrite the record (atomically) with `updates`; it must exist (see `start_or_resume`)."""
        self._require_lock()
        old = self.read_record()
        if old is None:
            raise RunError(f"{self.path} has no {self.record_path.name} to update")
        record = {"kind": self.kind, **old, **updates}
        self._replace(self.record_path, json.dumps(record, indent=1) + "\n")
        return record

    # -- the rows --------------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        """Every complete row, a torn last line cut off the file first."""
        self._require_lock()
        return read_results(self.rows_path, repair=True)

    def append(self, row: Mapping[str, Any]) -> None:
        """Append one row (stamped with the format version), on disk (fsynced) before this returns."""
        self._require_lock()
        with open(self.rows_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(stamped_row(row), ensure_ascii=False) + "\n")
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
        self._replace(self.rows_path, "".join(json.dumps(stamped_row(r), ensure_ascii=False) + "\n" for r in rows))

    def _replace(self, path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
