"""Where the compiled loops are cached: one folder per user, keyed by the sources they compile.

numba caches a compiled function beside its source (``__pycache__``), so a fresh checkout or
virtual environment compiles every loop again: about 25 s of a study's first run on the
reference machine (2 cores), longer than the 192-trial study itself. The locator installed here
keeps the project's compiled loops in the user's cache folder instead (:func:`cache_root`), in
one folder per kernel module named by a hash of its source and of every project module it
imports, directly or through others, or loads by name to call its loops (:func:`sources_hash`):
any checkout holding the same sources reuses them, whatever its path, and an edit to a module
whose constants a loop reads, or whose loop it calls, compiles that loop again (numba's own key
is the function's file alone, so such an edit kept a stale loop). Each module keeps its
:data:`KEEP_VERSIONS` newest folders. ``NUMBA_CACHE_DIR``, when set, keeps numba's own
placement; a folder that cannot be written falls back to it too.

Imported only by the kernel modules (it imports numba).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import Any

import numba
from numba.core import caching

CACHE_DIR_ENV = "TNN_DSE_CACHE_DIR"
"""Environment variable: the folder under which the compiled loops are kept (default
``$XDG_CACHE_HOME/tnn-dse``, else ``~/.cache/tnn-dse``); they go to its ``numba`` subfolder."""

KEEP_VERSIONS = 8
"""Compiled versions kept per kernel module (newest by modification time); older ones are
removed when a new version is first written, once untouched for :data:`PRUNE_AFTER_S` (a
process still running an older checkout may write to its folder)."""

PRUNE_AFTER_S = 3600.0
"""Seconds a version's folder must be untouched before it may be removed."""

ROOT = Path(__file__).resolve().parents[1]
"""The folder holding the project's packages."""

PACKAGES = ("analytical_models", "dse")

_NAMES = "|".join(PACKAGES)
_IMPORT = re.compile(
    rf"^\s*(?:from\s+((?:{_NAMES})(?:\.\w+)*)\s+import\s+([^\n#]*)|import\s+((?:{_NAMES})(?:\.\w+)*))",
    re.M,
)
_COMPILED = re.compile(rf"""compiled_module\(\s*["']((?:{_NAMES})(?:\.\w+)+)["']\s*\)""")
"""A kernel module another one loads by name (``compiled_module("a.b")``, e.g. to call its
compiled functions from its own): part of its sources like an import."""


def cache_root() -> Path:
    """The folder of the compiled loops: ``$TNN_DSE_CACHE_DIR/numba``, else
    ``$XDG_CACHE_HOME/tnn-dse/numba``, else ``~/.cache/tnn-dse/numba``."""
    base = os.environ.get(CACHE_DIR_ENV)
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = str(Path(xdg) / "tnn-dse")
    return Path(base) / "numba"


def _module_file(dotted: str, root: Path) -> Path | None:
    """The source file of the project module ``dotted`` under ``root`` (a package's
    ``__init__.py``), or None."""
    base = root.joinpath(*dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _file_info(path: Path, root: Path) -> tuple[bytes, frozenset[Path]]:
    """The SHA-256 of the source file ``path`` and the project modules it imports by name
    (``from a.b import c`` names ``a.b`` and, when it is a module, ``a.b.c``; a kernel module
    loaded by name, :data:`_COMPILED`, counts too); read once per version of the file (its
    modification time and size)."""
    st = path.stat()
    return _file_info_at(path, root, st.st_mtime_ns, st.st_size)


@cache
def _file_info_at(path: Path, root: Path, mtime_ns: int, size: int) -> tuple[bytes, frozenset[Path]]:
    text = path.read_bytes()
    found: set[Path] = set()
    for match in _IMPORT.finditer(text.decode("utf-8")):
        dotted = match.group(1) or match.group(3)
        candidates = [dotted]
        for name in re.findall(r"\w+", match.group(2) or ""):
            candidates.append(f"{dotted}.{name}")
        for candidate in candidates:
            got = _module_file(candidate, root)
            if got is not None:
                found.add(got)
    for match in _COMPILED.finditer(text.decode("utf-8")):
        got = _module_file(match.group(1), root)
        if got is not None:
            found.add(got)
    return hashlib.sha256(text).digest(), frozenset(found)


@cache
def sources_hash(path: Path, root: Path = ROOT) -> str:
    """A SHA-256 (hex) of the source file ``path`` and of every project module it imports,
    directly or through other project modules (those under ``root``), each with its path
    relative to ``root`` (each file read once a process, whichever kernel module reaches it)."""
    seen: dict[Path, bytes] = {}
    todo = [path]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        digest_of, imports = _file_info(current, root)
        seen[current] = digest_of
        todo.extend(imports - seen.keys())
    digest = hashlib.sha256()
    for file in sorted(seen):
        digest.update(str(file.relative_to(root)).encode() + b"\0" + seen[file])
    return digest.hexdigest()


def _prune(folder: Path, keep: int = KEEP_VERSIONS, after_s: float = PRUNE_AFTER_S) -> None:
    """Remove the sibling folders of ``folder`` for the same module beyond the ``keep`` newest,
    those untouched for ``after_s`` seconds."""
    prefix = folder.name.rsplit("-", 1)[0] + "-"
    try:
        siblings = [(p.stat().st_mtime, p) for p in folder.parent.iterdir() if p.name.startswith(prefix) and p.is_dir()]
    except OSError:
        return
    siblings.sort(reverse=True)
    now = time.time()
    for mtime, old in siblings[keep:]:
        if now - mtime >= after_s:
            shutil.rmtree(old, ignore_errors=True)


_LOCATOR_BASE: Any = getattr(caching, "_CacheLocator", object)
_IMPL: Any = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
"""numba's locator base class and cache implementation (``_CacheImpl`` in older numba): its
internals, so :func:`install` checks they are there and otherwise leaves numba's placement."""


class ProjectCacheLocator(_LOCATOR_BASE):  # type: ignore[misc]
    """numba's cache locator for the project's kernel modules: the folder
    ``cache_root()/<module>-<sources_hash[:16]>``, stamped with the full hash."""

    def __init__(self, py_func: Any, py_file: Path) -> None:
        self._lineno = py_func.__code__.co_firstlineno
        self._stamp = sources_hash(py_file)
        module = ".".join(py_file.relative_to(ROOT).with_suffix("").parts)
        self._path = cache_root() / f"{module}-{self._stamp[:16]}"

    def get_cache_path(self) -> str:
        return str(self._path)

    def get_source_stamp(self) -> str:
        return self._stamp

    def get_disambiguator(self) -> str:
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> ProjectCacheLocator | None:
        if getattr(numba.config, "CACHE_DIR", ""):
            return None
        path = Path(py_file).resolve()
        if not path.is_file() or not path.is_relative_to(ROOT):
            return None
        if path.relative_to(ROOT).parts[0] not in PACKAGES:
            return None
        self = cls(py_func, path)
        return self if _usable(self._path) else None


@cache
def _usable(folder: Path) -> bool:
    """Whether the cache folder ``folder`` exists (made now, and its module's older versions
    pruned, when it did not) and can be written: checked once a process, not for every compiled
    function of its module."""
    fresh = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    if fresh:
        _prune(folder)
    return True


def install() -> bool:
    """Put :class:`ProjectCacheLocator` first among numba's cache locators (once per process);
    call it before the ``njit(cache=True)`` decorators of a kernel module run. False (numba's
    own placement kept) when this numba lacks the internals it plugs into."""
    locators = getattr(_IMPL, "_locator_classes", None)
    if _LOCATOR_BASE is object or not isinstance(locators, list):
        return False
    if ProjectCacheLocator not in locators:
        locators.insert(0, ProjectCacheLocator)
    return True
