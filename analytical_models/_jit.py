"""The compiled loops (numba) and the switch that keeps a process on numpy.

Each compiled loop lives in a module of its own, imported on first use (numba loads then, about
1 s per process), and beside it the numpy or Python code it repeats bit for bit, which runs
instead when :data:`NO_JIT_ENV` is set.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

NO_JIT_ENV = "TNN_DSE_NO_JIT"
"""Environment variable: when set (non-empty), every compiled loop (the best-mapping search and
SCALE-Sim's nest cycles it compares, the on-chip step model, the fold-time tables, the subset
DP's tables, the schedule search's bounds, token-tile floors and segment arithmetic) stays on
numpy and Python, and numba is never imported: the same results, about 165 MB less resident
memory and 1 s less start-up per process, a slower search."""

_LOADED: dict[str, ModuleType] = {}


_ENVIRON: Mapping[Any, Any] = getattr(os.environ, "_data", os.environ)
"""The process environment as :data:`os.environ` holds it (its dict, which every write through
``os.environ`` updates): one dict lookup per :func:`compiled_module` call, where
``os.environ.get`` encodes the key and raises and catches a KeyError when it is unset."""
_NO_JIT_KEY: Any = os.environ.encodekey(NO_JIT_ENV) if _ENVIRON is not os.environ else NO_JIT_ENV


def compiled_module(name: str) -> ModuleType | None:
    """The module of compiled loops ``name`` (e.g. ``"dse.schedule._combine_kernel"``), imported
    on first use; None when :data:`NO_JIT_ENV` is set (read on every call, so that a process may
    switch)."""
    if _ENVIRON.get(_NO_JIT_KEY):
        return None
    got = _LOADED.get(name)
    if got is None:
        got = _LOADED[name] = importlib.import_module(name)
    return got


def use_compile_cache() -> None:
    """Keep the compiled loops in the user's cache folder, one folder per kernel module keyed by
    the sources it compiles (:mod:`analytical_models._jit_cache`: a new checkout of the same
    code compiles nothing); every kernel module calls it before its decorators run."""
    from analytical_models._jit_cache import install

    install()
