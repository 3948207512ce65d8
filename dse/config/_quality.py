"""The model-quality part of a study: ``quality:`` and the layer weights behind ``weight_error``.

Three optional ways to put model quality on the front (every one depends on the model
configuration only, never on the hardware):

* ``quality: {callable: "module:function"}``: a function called with the model configuration
  (``Design.to_dict()["workload"]``: a JSON-ready mapping with the ``layers`` list, each layer
  with its ``format``, ``in_shape``, ``out_shape``, ``ranks``, ...) that returns a float, the
  metric ``accuracy`` (maximized by default). ``module`` is importable (``dse.quality.examples``)
  or a ``.py`` file relative to the study file (``quality_fn.py:score``). Called once per
  distinct model configuration: the values are kept in the run folder (:mod:`dse.study._quality`).
* ``quality: {table: accuracy.csv}``: measured accuracies of a few configurations (a CSV file
  relative to the study file); see :class:`QualityTable`.
* a workload layer's ``weights: {file, key, transpose}``: the metric ``weight_error``, the
  relative Frobenius error of the best approximation of that weight in the layer's searched
  format (``dse quality``), post-training fidelity, not accuracy. Several layers: the mean
  weighted by each layer's dense parameters times its ``count``.

A study may name ``accuracy`` and ``weight_error`` in ``objectives:`` (``weight_error`` also in
``constraints:``) only when it has the corresponding source.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dse import ConfigError, DSEError
from dse._yaml import as_mapping, as_str, check_keys
from dse.workload import LayerSpec, Workload, WorkloadError, format_names, get_format

QUALITY_SOURCES: tuple[str, ...] = ("callable", "table")
"""Keys of ``quality:`` (exactly one)."""
TABLE_KNOBS: tuple[str, ...] = ("format", "rank", "in_shape", "out_shape")
"""What a quality table's ``<knob>@<layer>`` columns may name."""
TABLE_VALUE = "accuracy"
"""The value column of a quality table."""


class QualityLookupError(DSEError):
    """A quality table has no (or no unambiguous) row for a model configuration."""


def _ints(text: str) -> tuple[int, ...]:
    """``"4x8x8"`` (or ``"4"``) -> ``(4, 8, 8)``; ValueError when not positive integers."""
    values = tuple(int(v) for v in text.strip().split("x"))
    if not values or any(v < 1 for v in values):
        raise ValueError(text)
    return values


def _label(values: Sequence[int]) -> str:
    return "x".join(str(v) for v in values)


@dataclass(frozen=True, slots=True)
class TableRow:
    """One measured configuration: ``(layer, knob, value)`` conditions and its accuracy.

    ``value`` is a format name, a shape, or a rank: a one-element rank is one value ``r`` that
    the layer's format expands (:meth:`~dse.workload.LayerFormat.expand_ranks`), a longer one the
    full rank vector.
    """

    line: int
    conditions: tuple[tuple[str, str, Any], ...]
    accuracy: float

    def matches(self, layers: Mapping[str, LayerSpec]) -> bool:
        """Every condition holds for ``layers`` (by name)."""
        for layer, knob, value in self.conditions:
            spec = layers[layer]
            if knob == "format":
                if spec.format != value:
                    return False
            elif knob in ("in_shape", "out_shape"):
                if tuple(getattr(spec, knob)) != value:
                    return False
            elif len(value) == 1 and len(spec.ranks) != 1:
                try:
                    expanded = get_format(spec.format).expand_ranks(value[0], max(1, len(spec.in_shape)))
                except WorkloadError:
                    return False
                if expanded != spec.ranks:
                    return False
            elif tuple(spec.ranks) != value:
                return False
        return True


@dataclass(frozen=True, slots=True)
class QualityTable:
    """Measured accuracies of model configurations (``quality: {table: FILE.csv}``).

    The CSV file has a header row: one ``accuracy`` column (a number per row) and columns
    ``<knob>@<layer>`` with knob ``format``, ``rank``, ``in_shape`` or ``out_shape``:

    .. code-block:: text

        format@fc1,rank@fc1,in_shape@fc1,out_shape@fc1,accuracy
        ttm,4,4x4x4,4x8x8,0.975
        tt,2,,,0.962
        dense,,,,0.981

    A rank is one integer (expanded by the layer's format, as in a space: tt ``1,r,..,r,1``,
    tr a ring, tucker r per mode) or the full vector (``1x4x4x1``); shapes are ``4x8x8``. An
    empty cell matches any value. A design takes the accuracy of the row that matches it with
    the most conditions; no matching row, or two equally specific rows with different
    accuracies, fails that trial with a message naming the configuration (no nearest-neighbour
    guess). Layers the table does not name are not looked at.
    """

    file: str
    rows: tuple[TableRow, ...]

    def lookup(self, layers: Sequence[LayerSpec]) -> float:
        """The accuracy of the model configuration ``layers``.

        Raises:
            QualityLookupError: no row matches, or the best matches disagree.
        """
        by_name = {s.name: s for s in layers}
        hits = [row for row in self.rows if row.matches(by_name)]
        if not hits:
            named = sorted({layer for row in self.rows for layer, _, _ in row.conditions})
            raise QualityLookupError(
                f"quality table {self.file}: no row for the configuration {describe(by_name[n] for n in named)}"
            )
        most = max(len(row.conditions) for row in hits)
        best = [row for row in hits if len(row.conditions) == most]
        values = {row.accuracy for row in best}
        if len(values) > 1:
            lines = ", ".join(str(row.line) for row in best)
            raise QualityLookupError(
                f"quality table {self.file}: rows {lines} match the configuration equally well with different "
                f"accuracies {sorted(values)}"
            )
        return best[0].accuracy


def describe(layers: Any) -> str:
    """``fc1: tt in 4x4x4 out 4x8x8 ranks 1x4x4x4x4x4x1`` for each layer (messages)."""
    parts = []
    for s in layers:
        text = f"{s.name}: {s.format}"
        if s.in_shape:
            text += f" in {_label(s.in_shape)} out {_label(s.out_shape)}"
        if s.ranks:
            text += f" ranks {_label(s.ranks)}"
        parts.append(text)
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class QualityConfig:
    """A study's ``quality:`` block, validated.

    Attributes:
        callable: ``"module:function"`` (a ``.py`` module as an absolute path), or empty.
        table: the quality table, or None.
        source: the study file (for messages).
    """

    callable: str = ""
    table: QualityTable | None = None
    source: str = ""


def load_callable(spec: str) -> Callable[[Mapping[str, Any]], Any]:
    """The function named ``"module:function"`` (``module`` importable, or a ``.py`` file path).

    Raises:
        DSEError: the module cannot be imported, has no such function, or it is not callable.
    """
    module_name, _, attr = spec.rpartition(":")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            name = f"_dse_quality_{abs(hash(str(path)))}"
            module = sys.modules.get(name)
            if module is None:
                loader_spec = importlib.util.spec_from_file_location(name, path)
                if loader_spec is None or loader_spec.loader is None:
                    raise ImportError(f"cannot load {str(path)!r}")
                module = importlib.util.module_from_spec(loader_spec)
                sys.modules[name] = module
                loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except Exception as exc:  # a user's module may raise anything while it is imported
        raise DSEError(f"cannot import {module_name!r} ({type(exc).__name__}: {exc})") from None
    fn = getattr(module, attr, None)
    if fn is None:
        raise DSEError(f"module {module_name!r} has no attribute {attr!r}")
    if not callable(fn):
        raise DSEError(f"{spec!r} is not callable")
    return fn  # type: ignore[no-any-return]


def parse_quality(data: Any, *, source: str, workload: Workload) -> QualityConfig:
    """``quality:`` of a study -> :class:`QualityConfig` (the callable imported once to check it,
    the table read and checked against the workload)."""
    data = as_mapping(data, source, "quality")
    check_keys(data, QUALITY_SOURCES, source, "quality")
    if len(data) != 1:
        raise ConfigError(source, "quality", "one of {callable: 'module:function'} or {table: FILE.csv}")
    base = Path(source).parent
    if "callable" in data:
        spec = as_str(data["callable"], source, "quality.callable")
        module_name, colon, attr = spec.rpartition(":")
        if not colon or not module_name or not attr.isidentifier():
            raise ConfigError(source, "quality.callable", f"'module:function' or 'file.py:function', got {spec!r}")
        if module_name.endswith(".py"):
            path = Path(module_name).expanduser()
            path = path if path.is_absolute() else base / path
            if not path.is_file():
                raise ConfigError(source, "quality.callable", f"an existing .py file, {str(path)!r} not found")
            spec = f"{path.resolve()}:{attr}"
        try:
            load_callable(spec)
        except DSEError as exc:
            raise ConfigError(source, "quality.callable", f"an importable function ({exc})") from None
        return QualityConfig(callable=spec, source=source)
    name = as_str(data["table"], source, "quality.table")
    path = Path(name).expanduser()
    path = path if path.is_absolute() else base / path
    return QualityConfig(table=read_quality_table(path, workload), source=source)


def read_quality_table(path: Path, workload: Workload) -> QualityTable:
    """Read and check a quality table (:class:`QualityTable`) for ``workload``.

    Raises:
        ConfigError: naming the table file, and the row and column of a bad value.
    """
    src = str(path)
    if path.suffix.lower() != ".csv":
        raise ConfigError(src, "", "a .csv file (quality.table)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(src, "", "an existing file (quality.table): not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(src, "", f"a readable UTF-8 CSV file ({exc})") from None
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    if TABLE_VALUE not in header:
        raise ConfigError(src, "header", f"an {TABLE_VALUE!r} column (got {header})")
    if len(set(header)) != len(header):
        raise ConfigError(src, "header", f"distinct column names (got {header})")
    layers = {s.name: s for s in workload.layers}
    columns: list[tuple[str, str] | None] = []
    for col in header:
        if col == TABLE_VALUE:
            columns.append(None)
            continue
        knob, at, layer = col.partition("@")
        if not at or knob not in TABLE_KNOBS:
            raise ConfigError(src, f"column {col!r}", f"'<knob>@<layer>' with knob one of {list(TABLE_KNOBS)}")
        if layer not in layers:
            raise ConfigError(src, f"column {col!r}", f"a layer of the workload {list(layers)}")
        columns.append((layer, knob))
    if all(c is None for c in columns):
        raise ConfigError(src, "header", "at least one '<knob>@<layer>' column besides accuracy")
    rows: list[TableRow] = []
    seen: dict[tuple[tuple[str, str, Any], ...], int] = {}
    for n, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) != len(header):
            raise ConfigError(src, f"row {n}", f"{len(header)} cells like the header, got {len(raw)}")
        conditions: list[tuple[str, str, Any]] = []
        accuracy = math.nan
        for target, cell, name in zip(columns, raw, header, strict=True):
            cell = cell.strip()
            where = f"row {n}, column {name!r}"
            if target is None:
                try:
                    accuracy = float(cell)
                except ValueError:
                    accuracy = math.nan
                if not math.isfinite(accuracy):
                    raise ConfigError(src, where, f"a finite number, got {cell!r}")
                continue
            if not cell:
                continue
            layer, knob = target
            conditions.append((layer, knob, _cell(cell, knob, layers[layer], src, where)))
        key = tuple(sorted(conditions))
        if key in seen:
            raise ConfigError(src, f"row {n}", f"a configuration not already in row {seen[key]}")
        seen[key] = n
        rows.append(TableRow(line=n, conditions=tuple(conditions), accuracy=accuracy))
    if not rows:
        raise ConfigError(src, "", "at least one row of measured accuracy")
    return QualityTable(file=src, rows=tuple(rows))


def _cell(cell: str, knob: str, spec: LayerSpec, src: str, where: str) -> Any:
    if knob == "format":
        family = get_format(spec.format).knobs.family
        allowed = format_names(family=family)
        if cell not in allowed:
            raise ConfigError(
                src, where, f"a format of layer {spec.name!r}'s family ({', '.join(allowed)}), got {cell!r}"
            )
        return cell
    try:
        return _ints(cell)
    except ValueError:
        what = "a rank r or a full rank vector like 1x4x4x1" if knob == "rank" else "a shape like 4x8x8"
        raise ConfigError(src, where, f"{what} (integers >= 1), got {cell!r}") from None


def check_quality_sources(
    objectives: Sequence[str],
    constraints: Sequence[str],
    quality: QualityConfig | None,
    workload: Workload,
    source: str,
) -> None:
    """Refuse a quality metric the study has no source for, and weights that do not fit their
    layer (read from the files' headers only).

    Raises:
        ConfigError: ``accuracy`` without ``quality:``; ``weight_error`` without a layer that
            names its weights; a weight tensor missing from its file or of another size than its
            layer (``[in_features, out_features]``, after ``transpose``).
    """
    from dse.quality import QualityError, weight_matrix_shape

    for n, name in enumerate(objectives):
        if name == "accuracy" and quality is None:
            raise ConfigError(
                source,
                f"objectives[{n}]",
                "accuracy needs a quality source: quality: {callable: 'module:function'} or {table: FILE.csv}",
            )
    weighted = [s for s in workload.layers if s.weights is not None]
    for field, names in (("objectives", objectives), ("constraints", constraints)):
        if "weight_error" in names and not weighted:
            raise ConfigError(
                source,
                f"{field}.weight_error"
                if field == "constraints"
                else f"objectives[{list(names).index('weight_error')}]",
                "weight_error needs a workload layer that names its weights: {file: W.npz, key: NAME}",
            )
    for spec in workload.layers:
        ref = spec.weights
        if ref is None:
            continue
        try:
            shape = weight_matrix_shape(ref.file, ref.key, transpose=ref.transpose)
        except QualityError as exc:
            raise ConfigError(ref.file, exc.field, f"{exc.expected} (weights of layer {spec.name!r})") from None
        if shape != (spec.in_features, spec.out_features):
            hint = "" if ref.transpose else "; a PyTorch [out, in] weight needs transpose: true"
            raise ConfigError(
                ref.file,
                ref.key,
                f"a weight [in_features, out_features] = [{spec.in_features}, {spec.out_features}] for layer "
                f"{spec.name!r}, got {list(shape)}{hint}",
            )
