"""The parameter grammar of search spaces: a scalar fixes a value, ``{choices: [...]}`` is
categorical, ``{low, high, step?, log?}`` an integer or real range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dse import ConfigError
from dse._yaml import as_float, as_int, as_str, check_keys, join


@dataclass(frozen=True, slots=True)
class Fixed:
    """A parameter held at one value."""

    value: Any


@dataclass(frozen=True, slots=True)
class Categorical:
    """A parameter chosen from a list."""

    choices: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class IntRange:
    """An integer parameter in ``[low, high]``."""

    low: int
    high: int
    step: int = 1
    log: bool = False


@dataclass(frozen=True, slots=True)
class FloatRange:
    """A real parameter in ``[low, high]``."""

    low: float
    high: float
    log: bool = False


ParamSpec = Fixed | Categorical | IntRange | FloatRange


def parse_param(value: Any, source: str, fld: str, *, kind: str) -> ParamSpec:
    """Parse a parameter: a scalar (fixed), ``{choices: [...]}`` or ``{low, high, step?, log?}``.

    ``kind`` is ``int``, ``float`` or ``str`` and checks the values.
    """

    def check(v: Any, f: str) -> Any:
        if kind == "int":
            return as_int(v, source, f, minimum=1)
        if kind == "float":
            return as_float(v, source, f, positive=True)
        return as_str(v, source, f)

    if not isinstance(value, dict):
        return Fixed(check(value, fld))
    if "choices" in value:
        check_keys(value, ("choices",), source, fld)
        raw = value["choices"]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(source, join(fld, "choices"), "a non-empty list")
        choices = tuple(check(v, join(join(fld, "choices"), n)) for n, v in enumerate(raw))
        if len(set(choices)) != len(choices):
            raise ConfigError(source, join(fld, "choices"), "distinct values")
        return Fixed(choices[0]) if len(choices) == 1 else Categorical(choices)
    if kind == "str":
        raise ConfigError(source, fld, "a string or {choices: [...]}")
    check_keys(value, ("low", "high", "step", "log"), source, fld)
    for key in ("low", "high"):
        if key not in value:
            raise ConfigError(source, join(fld, key), "a value (a range needs low and high)")
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(source, join(fld, "log"), f"true or false, got {log!r}")
    low, high = check(value["low"], join(fld, "low")), check(value["high"], join(fld, "high"))
    if high < low:
        raise ConfigError(source, join(fld, "high"), f"a value >= low ({low}), got {high}")
    if kind == "int":
        step = as_int(value.get("step", 1), source, join(fld, "step"), minimum=1)
        if log and step != 1:
            raise ConfigError(source, join(fld, "step"), "1 when log is true")
        return Fixed(low) if low == high else IntRange(low, high, step, log)
    if "step" in value:
        raise ConfigError(source, join(fld, "step"), "no step for a real-valued range")
    return Fixed(low) if low == high else FloatRange(float(low), float(high), log)


def param_values(spec: ParamSpec) -> tuple[Any, ...]:
    """Every value of a discrete parameter."""
    if isinstance(spec, Fixed):
        return (spec.value,)
    if isinstance(spec, Categorical):
        return spec.choices
    if isinstance(spec, IntRange):
        return tuple(range(spec.low, spec.high + 1, spec.step))
    raise ValueError("a real range has no finite list of values")
