"""Checking a design record (``Design.to_dict`` output, as in ``dse export`` files) before it
becomes a :class:`~dse.Design`.

A record edited by hand (or by a script) must fail with one line naming the field and what is
allowed, never with a Python internal (``Hardware.__init__() got an unexpected keyword
argument``, ``'<' not supported between 'str' and 'int'``) and never by being read as something
else (an unknown ``mode`` evaluated as inference).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, fields
from typing import Any

from analytical_models import DATAFLOWS, MAPPINGS, MEMORY_TIMINGS, OBJECTIVES, Hardware, ModelInputError
from dse._errors import ConfigError
from dse.workload import LayerSpec, Workload, WorkloadError

_MIN_ONE = frozenset(
    {"in_features", "out_features", "tokens_per_step", "count", "heads", "seq_len", "stride", "batch"}
    | {"pe_rows", "pe_cols", "bits", "acc_bits"}
)
"""Integer fields (of layers, workloads and hardware) that must be >= 1; the others must be >= 0."""


def _choices(name: str) -> tuple[str, ...]:
    """The allowed values of a named string field of a design, from their registries."""
    if name == "mode":
        from dse.config import MODES

        return MODES
    if name == "path_policy":
        from dse.evaluate import PATH_POLICIES

        return PATH_POLICIES.names()
    if name == "path_optimizer":
        from dse.contraction import PATH_OPTIMIZERS

        return PATH_OPTIMIZERS.names()
    if name == "mapping_objective":
        return OBJECTIVES
    if name == "engine":
        from analytical_models import engine_names

        return engine_names()
    if name == "tech":
        from analytical_models import tech_names

        return tech_names()
    if name == "memory_timing":
        return MEMORY_TIMINGS
    if name == "mapping":
        return MAPPINGS
    if name == "format":
        from dse.workload import format_names

        return format_names()
    return ()


class _Checker:
    """Field-by-field checks that raise :class:`ConfigError` (``source``, ``design.<field>``)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, expected: str) -> ConfigError:
        return ConfigError(self.source, f"design.{field}" if field else "design", expected)

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(field, f"a mapping, got {type(value).__name__}")
        return value

    def keys(self, data: Mapping[str, Any], field: str, allowed: Sequence[str], required: Sequence[str]) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(_join(field, str(key)), f"unknown key; expected one of {sorted(allowed)}")
        for key in required:
            if key not in data:
                raise self.fail(_join(field, key), "a value (required)")

    def value(self, value: Any, field: str, kind: str, name: str) -> None:
        """``kind`` is the field's annotation: ``int``, ``float``, ``str``, ``tuple[int, ...]``..."""
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(field, f"an integer, got {value!r}")
            low = 1 if name in _MIN_ONE else 0
            if value < low:
                raise self.fail(field, f"an integer >= {low}, got {value}")
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise self.fail(field, f"a finite number, got {value!r}")
        elif kind == "str":
            if not isinstance(value, str):
                raise self.fail(field, f"a string, got {value!r}")
            allowed = _choices(name)
            if allowed and value not in allowed:
                raise self.fail(field, f"one of {list(allowed)}, got {value!r}")
        elif kind.startswith("tuple[int"):
            if not isinstance(value, list | tuple) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
                raise self.fail(field, f"a list of integers, got {value!r}")
            if any(v < 1 for v in value):
                raise self.fail(field, f"integers >= 1, got {list(value)}")
        elif kind.startswith("tuple[str") and (
            not isinstance(value, list | tuple) or any(not isinstance(v, str) for v in value)
        ):
            raise self.fail(field, f"a list of strings, got {value!r}")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _kinds(cls: type) -> dict[str, str]:
    return {f.name: str(f.type) for f in fields(cls)}


def _required(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]


def check_design_record(data: Any, source: str = "design record") -> None:
    """Refuse a malformed design record with one :class:`ConfigError` naming the field.

    Checks every key against the :class:`~dse.Design`, :class:`~analytical_models.Hardware`,
    :class:`~dse.workload.Workload` and :class:`~dse.workload.LayerSpec` fields, every value's
    type and range, every name against its registry (mode, path policy and optimizer, mapping
    objective, engine, tech profile, memory timing, dataflows, layer format), the accelerator
    and each layer as their own validators do, and the ``path_choices`` of a searched path
    policy.
    """
    from dse._design import Design

    check = _Checker(source)
    record = check.mapping(data, "")
    design_fields = _kinds(Design)
    named = ("mode", "path_policy", "path_optimizer", "mapping_objective")
    check.keys(record, "", list(design_fields), ["workload", "hardware", *named])
    for key in named:
        check.value(record[key], key, "str", key)
    for key, kind in design_fields.items():  # any other scalar field (e.g. a newer option)
        if key in record and key not in (*named, "workload", "hardware", "path_choices") and kind == "str":
            check.value(record[key], key, "str", key)

    hw = check.mapping(record["hardware"], "hardware")
    hw_kinds = _kinds(Hardware)
    check.keys(hw, "hardware", list(hw_kinds), _required(Hardware))
    for key, value in hw.items():
        check.value(value, _join("hardware", key), hw_kinds[key], key)
    if "dataflows" in hw:
        flows = hw["dataflows"]
        if not flows or any(f not in DATAFLOWS for f in flows) or len(set(flows)) != len(flows):
            raise check.fail("hardware.dataflows", f"a non-empty list of distinct values from {list(DATAFLOWS)}")
    try:
        Hardware(**{**hw, "dataflows": tuple(hw.get("dataflows", ("ws",)))})
    except ModelInputError as exc:
        raise check.fail("hardware", str(exc)) from None

    wl = check.mapping(record["workload"], "workload")
    wl_kinds = _kinds(Workload)
    check.keys(wl, "workload", list(wl_kinds), _required(Workload))
    for key, value in wl.items():
        if key != "layers":
            check.value(value, _join("workload", key), wl_kinds[key], key)
    layers = wl["layers"]
    if not isinstance(layers, list) or not layers:
        raise check.fail("workload.layers", "a non-empty list of layers")
    names = [_check_layer(check, layer, n, wl["batch"] * wl["seq_len"]) for n, layer in enumerate(layers)]
    if len(set(names)) != len(names):
        raise check.fail("workload.layers", f"distinct layer names, got {names}")

    choices = check.mapping(record.get("path_choices", {}), "path_choices")
    if choices and record["path_policy"] != "searched":
        raise check.fail("path_choices", f"none unless path_policy is 'searched' (it is {record['path_policy']!r})")
    for key, index in choices.items():
        layer, _, _net = str(key).partition("/")
        if layer not in names:
            raise check.fail(f"path_choices.{key}", f"'<layer>/<pass>' of a layer of the workload {names}")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise check.fail(f"path_choices.{key}", f"a contraction-tree index >= 0, got {index!r}")


def _check_layer(check: _Checker, data: Any, n: int, tokens: int) -> str:
    """Check one layer record; returns its name."""
    field = f"workload.layers[{n}]"
    layer = check.mapping(data, field)
    kinds = _kinds(LayerSpec)
    check.keys(layer, field, list(kinds), _required(LayerSpec))
    for key, value in layer.items():
        check.value(value, _join(field, key), kinds[key], key)
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in layer.items()}
    values.setdefault("tokens_per_step", tokens)
    try:
        spec = LayerSpec(**values)
        from dse.workload import get_format

        get_format(spec.format).validate(spec)
    except (WorkloadError, ValueError) as exc:
        raise check.fail(field, str(exc)) from None
    return str(layer["name"])
