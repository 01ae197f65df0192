"""The artifacts `[tool.sparkpush.artifacts]` asks for: globs expanded, checked, named, hashed."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from sparkpush.artifacts.artifact_cache import ArtifactCache, ClassTree
from sparkpush.artifacts.artifact_kind import ARCHIVE_SUFFIXES, PYFILE_SUFFIXES, ArtifactKind
from sparkpush.artifacts.class_jar import EntryCache, class_jar_name, pack_class_jar
from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.artifacts.local_artifact import DesiredArtifact, LocalArtifact
from sparkpush.artifacts.names import check_archive_alias, check_archive_file_name
from sparkpush.artifacts.pack_cache import PackCache
from sparkpush.artifacts.packing import (
    Confinement,
    SourceFile,
    describe_os_error,
    pack_python_source,
    printable_path,
    require_utf8_name,
    stat_or_refuse,
    stat_signature,
    walk_kept_files,
)
from sparkpush.artifacts.stat_cache import RACY_WINDOW_NS, StatCache
from sparkpush.artifacts.wheels import is_platform_wheel, wheel_artifact
from sparkpush.config.settings import ArtifactSettings
from sparkpush.errors import UsageError


@dataclass(frozen=True)
class CollectedArtifacts:
    artifacts: tuple[DesiredArtifact, ...]
    warnings: tuple[str, ...]
    platform_wheels: tuple[Path, ...] = ()
    """Wheels with compiled code: installed into the project's environment, not sent as zips."""

    @cached_property
    def by_name(self) -> Mapping[str, DesiredArtifact]:
        """Artifact name -> desired artifact."""
        return MappingProxyType({a.name: a for a in self.artifacts})

    @cached_property
    def hashes(self) -> Mapping[str, str]:
        """Artifact name -> sha256, the `desired` side of `plan_sync`."""
        return MappingProxyType({a.name: a.sha256 for a in self.artifacts})


def collect_artifacts(
    settings: ArtifactSettings,
    root: Path,
    cache: StatCache,
    packs: PackCache | None = None,
    reuse: ArtifactCache | None = None,
) -> CollectedArtifacts:
    """Expand every configured glob under `root` into named, hashed artifacts.

    A glob matching nothing is a warning; a missing literal path, an unusable file, a path or
    symlink leading outside `root` (and the user's `settings.allowed_roots`) or two sources
    claiming one artifact name (or one class) is a UsageError. A class folder becomes one jar
    (`class_jar.py`); with `reuse`, a class tree whose files all kept their stat is not rebuilt.
    """
    confine = Confinement.of(root, settings.allowed_roots)
    trees = reuse.class_trees if reuse is not None else {}
    entries = reuse.jar_entries if reuse is not None else None
    collector = _Collector(
        root, cache, DefaultFilter(settings.exclude), packs, confine, trees, entries
    )
    # the method of each setting has the setting's name
    for kind in ("python", "pyfiles", "wheels", "jars", "classes", "archives", "files"):
        add = getattr(collector, kind)
        for pattern in getattr(settings, kind):
            add(pattern)
    return CollectedArtifacts(
        tuple(collector.found.values()),
        tuple(collector.warnings),
        tuple(collector.platform_wheels),
    )


class _Collector:
    """Accumulates artifacts by name, refusing two different sources for one name."""

    def __init__(
        self,
        root: Path,
        cache: StatCache,
        keep: DefaultFilter,
        packs: PackCache | None,
        confine: Confinement,
        trees: dict[str, ClassTree],
        jar_entries: dict[str, EntryCache] | None = None,
    ) -> None:
        self.root = root
        self.trees = trees
        self.confine = confine
        self.cache = cache
        self.packs = packs
        self.keep = keep
        self.found: dict[str, DesiredArtifact] = {}
        self.jar_entries = jar_entries
        self.class_folders: dict[str, Path] = {}
        """Class file (`com/x/A.class`) -> the class folder it came from."""
        self.warnings: list[str] = []
        self.platform_wheels: list[Path] = []

    def python(self, pattern: str) -> None:
        with _setting("python"):
            for folder in self._matches("python", pattern, want_dir=True):
                if any(d.source == folder for d in self.found.values()):
                    continue
                if self.packs is not None:
                    cached = self.packs.pack(folder, self.keep, self.root, self.confine)
                    artifact = LocalArtifact(name=cached.name, path=cached.path, data=cached.data)
                    self._add(DesiredArtifact(artifact, cached.sha256, cached.size, folder))
                    continue
                packed = pack_python_source(folder, self.keep, root=self.root, confine=self.confine)
                artifact = LocalArtifact(name=packed.name, data=packed.data)
                self._add(DesiredArtifact(artifact, packed.sha256, len(packed.data), folder))

    def pyfiles(self, pattern: str) -> None:
        with _setting("pyfiles"):
            for path in self._matches("pyfiles", pattern, want_dir=False):
                if not path.name.endswith(PYFILE_SUFFIXES):
                    hint = " (wheels go in 'wheels')" if path.name.endswith(".whl") else ""
                    raise UsageError(f"{self._shown(path)} is not a .py, .zip or .egg file{hint}")
                self._add_file(f"{ArtifactKind.PYFILE.prefix}/{path.name}", path)

    def wheels(self, pattern: str) -> None:
        with _setting("wheels"):
            for path in self._matches("wheels", pattern, want_dir=False):
                if is_platform_wheel(path):
                    require_utf8_name(path)
                    if not stat.S_ISREG(stat_or_refuse(path, self._shown(path)).st_mode):
                        raise UsageError(f"{self._shown(path)} is not a regular file")
                    if path not in self.platform_wheels:
                        self.platform_wheels.append(path)
                    continue
                artifact = wheel_artifact(path)
                self._add_file(artifact.name, path)

    def jars(self, pattern: str) -> None:
        with _setting("jars"):
            for path in self._matches("jars", pattern, want_dir=False):
                if not path.name.endswith(".jar"):
                    raise UsageError(f"{self._shown(path)} is not a .jar file")
                self._add_file(f"{ArtifactKind.JAR.prefix}/{path.name}", path)

    def classes(self, pattern: str) -> None:
        with _setting("classes"):
            for folder in self._matches("classes", pattern, want_dir=True):
                files = walk_kept_files(folder, self.keep, root=self.root, confine=self.confine)
                class_names = [f.relative for f in files if f.relative.endswith(".class")]
                if not class_names:
                    self.warnings.append(
                        f"artifacts.classes: {self._shown(folder)} has no .class files"
                    )
                    continue
                self._claim_classes(folder, class_names)
                signature = stat_signature(files)
                if self._reuse_class_tree(folder, signature):
                    continue
                desired, settled = self._class_jar(folder, files, signature)
                self._add(desired)
                # Only a settled tree is trusted by its stat data alone: a file written within
                # the racy window could change again without its mtime moving.
                if settled:
                    self.trees[str(folder)] = ClassTree(signature, [_without_bytes(desired)])

    def _reuse_class_tree(self, folder: Path, signature: str) -> bool:
        """Add the jar kept from an earlier collect when the tree and the jar are still there."""
        known = self.trees.get(str(folder))
        if known is None or known.signature != signature:
            return False
        if any(
            d.artifact.path is not None and not d.artifact.path.is_file() for d in known.artifacts
        ):
            return False
        for desired in known.artifacts:
            self._add(desired)
        if self.packs is not None:
            self.packs.keep_class_jar(folder)
        return True

    def _class_jar(
        self, folder: Path, files: list[SourceFile], signature: str
    ) -> tuple[DesiredArtifact, bool]:
        """The folder's jar (from the pack cache when it has one) and whether it is settled."""
        name = class_jar_name(folder, self.root)
        if self.packs is not None:
            entries = None
            if self.jar_entries is not None:
                entries = self.jar_entries.setdefault(str(folder), {})
            cached = self.packs.pack_class_jar(folder, files, name, entries, signature)
            artifact = LocalArtifact(name=cached.name, path=cached.path, data=cached.data)
            desired = DesiredArtifact(artifact, cached.sha256, cached.size, folder)
            return desired, cached.path is not None  # the pack cache stores settled packs only
        jar = pack_class_jar(name, files)
        artifact = LocalArtifact(name=jar.name, data=jar.data)
        newest = max(f.info.st_mtime_ns for f in files)
        settled = newest + RACY_WINDOW_NS <= time.time_ns()
        return DesiredArtifact(artifact, jar.sha256, len(jar.data), folder), settled

    def _claim_classes(self, folder: Path, class_names: list[str]) -> None:
        """Refuse a class found in two class folders: which one the JVM loads is left to chance."""
        for class_name in class_names:
            earlier = self.class_folders.setdefault(class_name, folder)
            if earlier is not folder and earlier != folder:
                raise UsageError(
                    f"{class_name} is in two class folders: "
                    f"{self._shown(earlier)} and {self._shown(folder)}"
                )

    def archives(self, pattern: str) -> None:
        location, _, alias = pattern.partition("#")
        with _setting("archives"):
            if "#" in pattern:
                check_archive_alias(alias)
            paths = self._matches("archives", location, want_dir=False, shown_pattern=pattern)
            if alias and len(paths) > 1:
                raise UsageError(
                    f"{pattern!r} matches {len(paths)} files but gives one alias {alias!r}"
                )
            for path in paths:
                if not path.name.endswith(ARCHIVE_SUFFIXES):
                    raise UsageError(
                        f"{self._shown(path)} is not a .zip, .jar, .tar.gz, .tgz or .tar file"
                    )
                check_archive_file_name(path.name)
                suffix = f"#{alias}" if alias else ""
                self._add_file(f"{ArtifactKind.ARCHIVE.prefix}/{path.name}{suffix}", path)

    def files(self, pattern: str) -> None:
        with _setting("files"):
            for path in self._matches("files", pattern, want_dir=False):
                self._add_file(f"{ArtifactKind.FILE.prefix}/{path.name}", path)

    def _matches(
        self, kind: str, pattern: str, *, want_dir: bool, shown_pattern: str | None = None
    ) -> list[Path]:
        """The paths `pattern` names: a literal must exist; a glob may match nothing (warning)."""
        if not pattern.strip():
            raise UsageError("empty path")
        if not _has_magic(pattern):
            path = self.root / Path(pattern).expanduser()
            self.confine.require(path, self._shown(path))
            info = stat_or_refuse(path, self._shown(path))
            if want_dir and not stat.S_ISDIR(info.st_mode):
                raise UsageError(f"{self._shown(path)} is not a folder")
            if not want_dir and stat.S_ISDIR(info.st_mode):
                raise UsageError(f"{self._shown(path)} is a folder, not a file")
            return [path]
        matches = [
            path
            for path in self._glob(pattern)
            if path.is_dir() == want_dir and self._kept(path, want_dir)
        ]
        for path in matches:
            self.confine.require(path, self._shown(path))
        if not matches:
            self.warnings.append(
                f"artifacts.{kind}: {shown_pattern or pattern!r} matches no "
                f"{'folder' if want_dir else 'file'}"
            )
        return matches

    def _glob(self, pattern: str) -> list[Path]:
        expanded = Path(pattern).expanduser()
        if expanded.is_absolute():
            base = Path(expanded.anchor)
            relative = str(expanded.relative_to(expanded.anchor))
        else:
            base, relative = self.root, pattern
        return sorted(base.glob(relative))

    def _kept(self, path: Path, is_dir: bool) -> bool:
        """Glob matches obey the ignore rules (literal paths are taken as asked for)."""
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return True
        return self.keep(PurePosixPath(relative.as_posix()), is_dir)

    def _add_file(self, name: str, path: Path, *, checked: bool = False) -> None:
        if not checked:
            require_utf8_name(path)
            if not stat.S_ISREG(stat_or_refuse(path, self._shown(path)).st_mode):
                raise UsageError(f"{self._shown(path)} is not a regular file")
        if name in self.found and self.found[name].source == path:
            return
        try:
            digest, size = self.cache.sha256(path)
        except OSError as exc:
            raise UsageError(describe_os_error(path, exc, self._shown(path))) from None
        self._add(DesiredArtifact(LocalArtifact(name=name, path=path), digest, size, path))

    def _add(self, desired: DesiredArtifact) -> None:
        earlier = self.found.get(desired.name)
        if earlier is not None and not _same_source(earlier, desired):
            raise UsageError(
                f"two different sources would both be sent as {desired.name}: "
                f"{self._shown(earlier.source)} and {self._shown(desired.source)}"
            )
        self.found.setdefault(desired.name, desired)

    def _shown(self, path: Path) -> str:
        try:
            return printable_path(path.relative_to(self.root))
        except ValueError:
            return printable_path(path)


def _without_bytes(desired: DesiredArtifact) -> DesiredArtifact:
    """`desired` reading its bytes from its stored file: a kept tree holds no jar in memory."""
    artifact = desired.artifact
    if artifact.path is None or artifact.data is None:
        return desired
    return replace(desired, artifact=LocalArtifact(name=artifact.name, path=artifact.path))


def _same_source(a: DesiredArtifact, b: DesiredArtifact) -> bool:
    # Packed zips are named by content, so one name means the same bytes whatever the folder.
    if a.artifact.data is not None and b.artifact.data is not None:
        return a.sha256 == b.sha256
    return a.source == b.source or os.path.realpath(a.source) == os.path.realpath(b.source)


@contextmanager
def _setting(kind: str) -> Iterator[None]:
    """Prefix errors with the setting they come from: `artifacts.jars: ...`."""
    try:
        yield
    except UsageError as exc:
        if exc.message.startswith("artifacts."):
            raise
        raise UsageError(f"artifacts.{kind}: {exc.message}") from None


def _has_magic(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")
