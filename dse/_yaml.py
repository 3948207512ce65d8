"""Reading YAML files into checked values, with one clear error per mistake.

Every reader takes the file name (``source``) and the dotted field path so that a
:class:`ConfigError` can say exactly where the mistake is and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from dse._errors import ConfigError

T = TypeVar("T")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Load a YAML mapping from ``path``; :class:`ConfigError` if missing, unreadable or not a mapping."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(str(p), "", "file not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(parse)"
        raise ConfigError(str(p), where, f"valid YAML ({getattr(exc, 'problem', exc)})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(p), "", f"a readable UTF-8 file ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(str(p), "(top level)", "a mapping of keys to values")
    return data


def join(prefix: str, key: str | int) -> str:
    """Dotted field path: ``join("layers[0]", "ranks")`` -> ``"layers[0].ranks"``."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def check_keys(data: Mapping[str, Any], allowed: Sequence[str], source: str, prefix: str) -> None:
    """Reject unknown keys, naming the first one and the allowed set."""
    for key in data:
        if key not in allowed:
            raise ConfigError(source, join(prefix, str(key)), f"unknown key; expected one of {sorted(allowed)}")


def as_mapping(value: Any, source: str, field: str) -> dict[str, Any]:
    """``value`` as a mapping, or a :class:`ConfigError`."""
    if not isinstance(value, dict):
        raise ConfigError(source, field, f"a mapping, got {type(value).__name__}")
    return value


def as_int(value: Any, source: str, field: str, *, minimum: int | None = None) -> int:
    """``value`` as an int (bools rejected), optionally >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(source, field, f"an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(source, field, f"an integer >= {minimum}, got {value}")
    return value


def as_float(value: Any, source: str, field: str, *, positive: bool = False) -> float:
    """``value`` as a float (ints accepted), optionally > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(source, field, f"a number, got {value!r}")
    if positive and not value > 0:
        raise ConfigError(source, field, f"a number > 0, got {value}")
    return float(value)


def as_str(value: Any, source: str, field: str, *, choices: Sequence[str] | None = None) -> str:
    """``value`` as a string, optionally one of ``choices``."""
    if not isinstance(value, str):
        raise ConfigError(source, field, f"a string, got {value!r}")
    if choices is not None and value not in choices:
        raise ConfigError(source, field, f"one of {list(choices)}, got {value!r}")
    return value


def as_int_list(value: Any, source: str, field: str, *, minimum: int = 1) -> tuple[int, ...]:
    """``value`` as a non-empty list of ints >= ``minimum``."""
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(source, field, f"a non-empty list of integers, got {value!r}")
    return tuple(as_int(v, source, join(field, n), minimum=minimum) for n, v in enumerate(value))
