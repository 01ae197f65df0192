"""watchdog observers on the watch roots, reporting relevant changes to a callback.

Ignored folders (`.venv`, `.git`, caches, ...) are never watched at all: a root is watched
non-recursively and each kept sub-folder recursively, so a large virtualenv costs nothing.

`barrier()` proves that every change made before it was called has been reported: it touches
each watched folder's metadata (times kept as they are, so no file appears and nothing looks
modified) and waits for that event to come back through the folder's own watch. A watch reports
its events in the kernel's order, so once its marker is back, every earlier event is too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from sparkpush.artifacts.ignore import DefaultFilter

log = logging.getLogger(__name__)

OnChange = Callable[[Path], None]
OnMarker = Callable[[Path], None]

_OVERFLOW_LOGGER = "watchdog.observers.inotify_c"
_OVERFLOW_TEXT = "overflow"


class _Relay(FileSystemEventHandler):
    """The handler of one watched folder: its marker events, and changes for the callback."""

    def __init__(
        self,
        folder: Path,
        project_root: Path,
        keep: DefaultFilter,
        on_change: OnChange,
        on_new_folder: OnChange,
        on_marker: OnMarker,
    ) -> None:
        self.folder = str(folder)
        self.project_root = project_root
        self.keep = keep
        self.on_change = on_change
        self.on_new_folder = on_new_folder
        self.on_marker = on_marker

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "attrib":
            # A folder's own metadata changes nothing a sync sends; on the watched folder
            # itself it is the barrier's marker (another watch may see it as a child: ignored).
            if _text(event.src_path) == self.folder:
                self.on_marker(Path(self.folder))
            return
        if event.is_directory and event.event_type in ("created", "moved"):
            raw = getattr(event, "dest_path", "") or event.src_path
            self.on_new_folder(Path(_text(raw)))
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = Path(_text(raw))
            if self._relevant(path):
                self.on_change(path)
                return

    def _relevant(self, path: Path) -> bool:
        try:
            path.relative_to(self.project_root)
        except ValueError:
            return True  # a configured source outside the project: no ignore rules apply
        return self.keep.accepts_change(path, self.project_root)


class _OverflowAlarm(logging.Handler):
    """watchdog says an inotify queue overflowed (events were lost) only in a log record."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self.on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        if _OVERFLOW_TEXT in record.getMessage().lower():
            self.on_overflow()


class ProjectWatcher:
    """Starts and stops the observers for one project."""

    def __init__(
        self,
        project_root: Path,
        roots: list[Path],
        keep: DefaultFilter,
        on_change: OnChange,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self.project_root = project_root.resolve()
        self.roots = roots
        self.keep = keep
        self.on_change = on_change
        self.observer = Observer()
        self._shallow = {root.resolve() for root in roots}
        self._markers = threading.Condition()
        self._sent: dict[Path, int] = {}
        self._arrived: dict[Path, int] = {}
        self._barrier_lock = threading.Lock()
        self._overflow = _OverflowAlarm(on_overflow or (lambda: on_change(self.project_root)))

    def start(self) -> None:
        for root in self.roots:
            self._schedule(root, recursive=False)
            for child in sorted(root.iterdir()) if root.is_dir() else ():
                if child.is_dir() and self._kept_folder(child):
                    self._schedule(child, recursive=True)
        logging.getLogger(_OVERFLOW_LOGGER).addHandler(self._overflow)
        self.observer.daemon = True
        self.observer.start()

    def stop(self) -> None:
        logging.getLogger(_OVERFLOW_LOGGER).removeHandler(self._overflow)
        self.observer.stop()
        self.observer.join(timeout=5)

    def barrier(self, timeout: float) -> bool:
        """True once every watch has reported everything that happened before this call;
        False when that cannot be known within `timeout` (the caller must look for itself)."""
        with self._barrier_lock:
            with self._markers:
                if any(self._arrived[f] < sent for f, sent in self._sent.items()):
                    return False  # an earlier marker is still out: it would be taken for ours
                wanted = {folder: arrived + 1 for folder, arrived in self._arrived.items()}
            for folder in wanted:
                if not _touch_metadata(folder):
                    return False  # gone or not ours to touch: what it holds cannot be proven
                with self._markers:
                    self._sent[folder] = wanted[folder]
            deadline = time.monotonic() + timeout
            with self._markers:
                return self._markers.wait_for(
                    lambda: all(self._arrived[f] >= n for f, n in wanted.items()),
                    max(0.0, deadline - time.monotonic()),
                )

    def _schedule(self, folder: Path, *, recursive: bool) -> None:
        folder = folder.resolve()
        relay = _Relay(
            folder,
            self.project_root,
            self.keep,
            self.on_change,
            self._folder_created,
            self._marker_arrived,
        )
        self.observer.schedule(relay, str(folder), recursive=recursive)
        with self._markers:
            self._sent.setdefault(folder, 0)
            self._arrived.setdefault(folder, 0)

    def _marker_arrived(self, folder: Path) -> None:
        with self._markers:
            if folder in self._arrived:
                self._arrived[folder] += 1
                self._markers.notify_all()

    def _folder_created(self, folder: Path) -> None:
        # Only a root is watched shallowly; a folder appearing in it needs its own watch.
        if folder.parent.resolve() in self._shallow and self._kept_folder(folder):
            try:
                self._schedule(folder, recursive=True)
            except OSError as exc:
                log.warning("cannot watch %s: %s", folder, exc)

    def _kept_folder(self, folder: Path) -> bool:
        try:
            relative = folder.resolve().relative_to(self.project_root)
        except ValueError:
            return True
        return self.keep(PurePosixPath(relative.as_posix()), is_dir=True)


def _touch_metadata(folder: Path) -> bool:
    """An attribute event on `folder` with its times unchanged; False when it is gone."""
    try:
        info = os.stat(folder)
        os.utime(folder, ns=(info.st_atime_ns, info.st_mtime_ns))
    except OSError:
        return False
    return True


def _text(raw: str | bytes) -> str:
    return raw if isinstance(raw, str) else raw.decode(errors="surrogateescape")
