"""Model quality of a study's designs, measured once per model configuration.

The quality metrics depend on the model configuration only (every layer's format, shapes and
ranks), never on the hardware, so a study measures them once per distinct configuration and
keeps the values in its run folder, in ``quality_cache.jsonl``: one JSON line per measured
value, appended. Every process of a study (``dse run`` and ``dse resume`` one after the other,
``--n-jobs`` processes, several ``dse worker`` processes) reads the journal before measuring, and
a process about to measure a configuration first takes a lock for it (POSIX record locks on
``quality_cache.lock``, one byte per configuration hash), re-reads the journal and measures only
if no other process has. So a user's quality callable runs once per configuration for the life
of the run folder; a measurement that raises is not recorded (the trial fails with the reason
and the next design with that configuration tries again). Workers on other machines share the
cache only through a shared file system.

Metrics (catalog :data:`dse._catalog.QUALITY_KEYS`):

* ``accuracy``: the study's ``quality:`` callable (called with the model configuration,
  :func:`model_configuration`) or its table (:class:`dse.config.QualityTable`);
* ``weight_error``: the relative Frobenius error of each named layer weight in its layer's
  configuration (:func:`dse.quality.weight_error`; post-training fidelity, not accuracy); for
  several layers the mean weighted by each layer's dense parameters x ``count``:
  ``sum_l w_l e_l / sum_l w_l``, ``w_l = in_features x out_features x count``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from dse import DSEError
from dse._design import layer_to_dict
from dse.config import QualityTable, StudyConfig, load_callable
from dse.workload import LayerSpec, Workload

QUALITY_CACHE_FILE = "quality_cache.jsonl"
"""The quality journal of a run folder."""
LOCK_FILE = "quality_cache.lock"
"""The lock file next to it (record locks only; never written)."""
_SLOTS = 1 << 20


class QualityMeasureError(DSEError):
    """A quality measure failed for one model configuration (the trial fails with this reason)."""


def model_configuration(workload: Workload) -> dict[str, Any]:
    """The model configuration a quality callable receives: ``Design.to_dict()["workload"]``
    (the workload's fields and its ``layers`` as JSON-ready mappings)."""
    return {
        **{f.name: getattr(workload, f.name) for f in fields(Workload) if f.name != "layers"},
        "layers": [layer_to_dict(s) for s in workload.layers],
    }


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


_PROCESS_LOCK = threading.RLock()
_LOCK_FDS: dict[str, int] = {}


@contextmanager
def _record_lock(lock_path: str, slot: int) -> Iterator[None]:
    """An exclusive lock on byte ``slot`` of ``lock_path`` (POSIX ``lockf``), and on this
    process's threads. One descriptor per process and file: closing another descriptor of the
    file would drop the process's record locks."""
    import fcntl

    with _PROCESS_LOCK:
        fd = _LOCK_FDS.get(lock_path)
        if fd is None:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            _LOCK_FDS[lock_path] = fd
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, slot)
        try:
            yield
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, slot)


class QualityCache:
    """The quality journal of one run folder (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.lock_path = str(Path(path).with_name(LOCK_FILE))
        self.values: dict[str, float] = {}
        self.offset = 0

    def refresh(self) -> None:
        """Read the lines other processes appended since the last read (complete lines only)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            try:
                record = json.loads(line)
                self.values[str(record["key"])] = float(record["value"])
            except (ValueError, KeyError, TypeError):
                continue  # a damaged line is measured again
        self.offset += end

    def get(self, key: str) -> float | None:
        """The recorded value of ``key`` (None when no process has measured it)."""
        if key not in self.values:
            self.refresh()
        return self.values.get(key)

    def measure(self, key: str, fn: Callable[[], float], record: dict[str, Any]) -> float:
        """The value of ``key``: recorded, or measured by ``fn`` (once across processes) and
        appended with ``record`` (what was measured, for people reading the journal)."""
        known = self.get(key)
        if known is not None:
            return known
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)  # a study in a database: no run folder yet
        with _record_lock(self.lock_path, 1 + int(key[:12], 16) % _SLOTS):
            self.refresh()
            if key in self.values:
                return self.values[key]
            value = fn()
            line = json.dumps({"key": key, "value": value, **record}, sort_keys=True, default=str) + "\n"
            with _record_lock(self.lock_path, 0):  # one writer at a time
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, line.encode())
                finally:
                    os.close(fd)
            self.values[key] = value
            return value


@lru_cache(maxsize=16)
def _cache(path: str) -> QualityCache:
    return QualityCache(path)


@lru_cache(maxsize=4)
def _weight(file: str, key: str, transpose: bool) -> Any:
    from dse.quality import load_weight

    return load_weight(file, key, transpose=transpose)


@dataclass(frozen=True, slots=True)
class ModelQuality:
    """What a study measures about model quality, in a form its worker processes receive.

    Attributes:
        callable: the quality callable (``"module:function"``), or empty.
        table: the quality table, or None.
        weights: some workload layer names its weights (metric ``weight_error``).
        cache_file: the run folder's quality journal (empty: this process's memory only).
    """

    callable: str = ""
    table: QualityTable | None = None
    weights: bool = False
    cache_file: str = ""

    def _memo(self, key: str, fn: Callable[[], float], record: dict[str, Any]) -> float:
        cache = _cache(self.cache_file) if self.cache_file else _cache("")
        if not self.cache_file:
            known = cache.values.get(key)
            if known is None:
                known = cache.values[key] = fn()
            return known
        return cache.measure(key, fn, record)

    def measure(self, workload: Workload) -> dict[str, float]:
        """``accuracy`` and / or ``weight_error`` of the model configuration of ``workload``.

        Raises:
            QualityMeasureError: the callable raised or returned no finite number, the table
                has no row for the configuration, or a weight cannot be approximated.
        """
        out: dict[str, float] = {}
        if self.callable:
            model = model_configuration(workload)
            key = _digest({"metric": "accuracy", "callable": self.callable, "model": model})
            out["accuracy"] = self._memo(key, lambda: self._call(model), {"metric": "accuracy", "model": model})
        elif self.table is not None:
            try:
                out["accuracy"] = self.table.lookup(workload.layers)
            except DSEError as exc:
                raise QualityMeasureError(str(exc)) from None
        if self.weights:
            out["weight_error"] = self._weight_error(workload)
        return out

    def _call(self, model: dict[str, Any]) -> float:
        try:
            fn = load_callable(self.callable)
            value = fn(json.loads(json.dumps(model)))  # a fresh copy: the callable may change it
        except Exception as exc:  # the user's function may raise anything
            raise QualityMeasureError(
                f"quality callable {self.callable} raised {type(exc).__name__}: {exc}".rstrip(": ")
            ) from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise QualityMeasureError(f"quality callable {self.callable} returned {value!r}; expected a finite number")
        return float(value)

    def _weight_error(self, workload: Workload) -> float:
        total = weight = 0.0
        for spec in workload.layers:
            if spec.weights is None:
                continue
            w = float(spec.in_features * spec.out_features * spec.count)
            total += w * self._layer_error(spec)
            weight += w
        return total / weight if weight else 0.0

    def _layer_error(self, spec: LayerSpec) -> float:
        ref = spec.weights
        if ref is None:  # pragma: no cover - the caller skips these
            return 0.0
        what = {
            "metric": "weight_error",
            **ref.to_dict(),
            "format": spec.format,
            "in_shape": list(spec.in_shape),
            "out_shape": list(spec.out_shape),
            "ranks": list(spec.ranks),
        }

        def measure() -> float:
            from dse.quality import QualityError, weight_error

            try:
                result = weight_error(
                    _weight(ref.file, ref.key, ref.transpose),
                    fmt=spec.format,
                    in_shape=spec.in_shape,
                    out_shape=spec.out_shape,
                    ranks=spec.ranks or None,
                )
            except QualityError as exc:
                raise QualityMeasureError(f"weight_error of layer {spec.name!r}: {exc}") from None
            return result.relative_error

        return self._memo(_digest(what), measure, what)


def model_quality(cfg: StudyConfig, *, cache: bool = True) -> ModelQuality | None:
    """What ``cfg`` measures about model quality (None: nothing), with the run folder's journal
    as its cache (``cache=False``: in memory only)."""
    weights = any(s.weights is not None for s in cfg.workload.layers)
    q = cfg.quality
    if q is None and not weights:
        return None
    return ModelQuality(
        callable=q.callable if q is not None else "",
        table=q.table if q is not None else None,
        weights=weights,
        cache_file=str(Path(cfg.run_dir) / QUALITY_CACHE_FILE) if cache else "",
    )
