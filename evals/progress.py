"""Progress of a long run: rich's bar on a terminal, plain lines everywhere else.

Without a terminal (a pipe, a log file, CI) rich's live bar draws nothing until the run ends, so
a run of many minutes shows no sign of life. There the runner's own lines (one per finished
category of `aia bench`, one per labeled unit of `aia label`) are printed instead.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TaskID, TextColumn, TimeElapsedColumn


class RunProgress:
    """Use as a context manager; call `advance` once per finished item."""

    def __init__(self, console: Console, description: str, total: int, completed: int = 0,
                 columns: tuple[ProgressColumn, ...] = ()) -> None:
        self.console = console
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if console.is_terminal:
            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), *columns, console=console)
            self._task = self._bar.add_task(description, total=total, completed=completed)

    def __enter__(self) -> RunProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, description: str | None = None, line: str | None = None) -> None:
        """One more item done: the bar moves (and takes `description`), or `line` is printed."""
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, **({"description": description} if description else {}))
        elif line:
            self.console.print(line, highlight=False, markup=False)
