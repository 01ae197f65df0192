"""watchdog observers on the watch roots, reporting relevant changes to a callback.

Ignored folders (`.venv`, `.git`, caches, ...) are never watched at all: a root is watched
non-recursively and each kept sub-folder recursively, so a large virtualenv costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from sparkpush.artifacts.ignore import DefaultFilter

log = logging.getLogger(__name__)

OnChange = Callable[[Path], None]


class _Relay(FileSystemEventHandler):
    def __init__(
        self,
        project_root: Path,
        keep: DefaultFilter,
        on_change: OnChange,
        on_new_folder: OnChange,
    ) -> None:
        self.project_root = project_root
        self.keep = keep
        self.on_change = on_change
        self.on_new_folder = on_new_folder

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type in ("created", "moved"):
            raw = getattr(event, "dest_path", "") or event.src_path
            self.on_new_folder(Path(raw if isinstance(raw, str) else raw.decode()))
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = Path(raw if isinstance(raw, str) else raw.decode(errors="surrogateescape"))
            if self._relevant(path):
                self.on_change(path)
                return

    def _relevant(self, path: Path) -> bool:
        try:
            path.relative_to(self.project_root)
        except ValueError:
            return True  # a configured source outside the project: no ignore rules apply
        return self.keep.accepts_change(path, self.project_root)


class ProjectWatcher:
    """Starts and stops the observers for one project."""

    def __init__(
        self, project_root: Path, roots: list[Path], keep: DefaultFilter, on_change: OnChange
    ) -> None:
        self.project_root = project_root.resolve()
        self.roots = roots
        self.keep = keep
        self.observer = Observer()
        self.relay = _Relay(self.project_root, keep, on_change, self._folder_created)
        self._shallow = {root.resolve() for root in roots}

    def start(self) -> None:
        for root in self.roots:
            self.observer.schedule(self.relay, str(root), recursive=False)
            for child in sorted(root.iterdir()) if root.is_dir() else ():
                if child.is_dir() and self._kept_folder(child):
                    self.observer.schedule(self.relay, str(child), recursive=True)
        self.observer.daemon = True
        self.observer.start()

    def _folder_created(self, folder: Path) -> None:
        # Only a root is watched shallowly; a folder appearing in it needs its own watch.
        if folder.parent.resolve() in self._shallow and self._kept_folder(folder):
            try:
                self.observer.schedule(self.relay, str(folder), recursive=True)
            except OSError as exc:
                log.warning("cannot watch %s: %s", folder, exc)

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)

    def _kept_folder(self, folder: Path) -> bool:
        try:
            relative = folder.resolve().relative_to(self.project_root)
        except ValueError:
            return True
        return self.keep(PurePosixPath(relative.as_posix()), is_dir=True)
