"""Reading YAML files into checked values, with one clear error per mistake.

Every reader takes the file name (``source``) and the dotted field path so that a
:class:`ConfigError` can say exactly where the mistake is and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from dse._errors import ConfigError

T = TypeVar("T")


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (plain YAML keeps the
    last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first given on line {first})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def read_text(path: Path) -> str:
    """The text of a UTF-8 file; :class:`ConfigError` when it is missing, a folder, unreadable or
    binary."""
    if path.is_dir():
        raise ConfigError(str(path), "", "a file, got a folder")
    if not path.is_file():
        raise ConfigError(str(path), "", "file not found")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path), "", f"a UTF-8 text file (byte {exc.object[exc.start]:#04x} at offset {exc.start} is not text)"
        ) from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"a readable file ({exc.strerror})") from None


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML ``text`` (refusing duplicate keys); :class:`ConfigError` naming ``source`` and
    the line of the first mistake."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(parse)"
        raise ConfigError(source, where, f"valid YAML ({getattr(exc, 'problem', exc)})") from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Load a YAML mapping from ``path``; :class:`ConfigError` if missing, unreadable, not a
    mapping, or a mapping gives one key twice."""
    p = Path(path)
    data = parse_yaml(read_text(p), str(p))
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
    """``value`` as a finite float (ints accepted), optionally > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(source, field, f"a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(source, field, f"a finite number, got {value}")
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
