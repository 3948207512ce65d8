"""Baseline designs a tensorized design is compared with, and the dashboard's baseline table.

* :func:`dense_workload` / :func:`dense_design`: the untensorized model on the same hardware;
* :func:`mac_optimal_design`: the same design with MAC-optimal contraction paths;
* :func:`baseline_info`: every front design against both, re-evaluated on its own hardware.

Every ratio is :func:`ratio` (``reference / subject``, NaN when it is undefined).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from dse import Design, DSEError
from dse.evaluate import evaluate
from dse.workload import Workload

_SHAPED_TO_PLAIN: dict[str, str] = {"ttm_embedding": "embedding", "ttm_conv": "conv"}
_KEPT: frozenset[str] = frozenset({"dense", "conv", "embedding", "attention"})


def ratio(a: float, b: float) -> float:
    """``a / b``; NaN when ``b`` is not positive or either value is NaN."""
    if math.isnan(a) or math.isnan(b) or not b > 0:
        return math.nan
    return a / b


def dense_workload(workload: Workload) -> Workload:
    """The untensorized model: every TT-like layer dense, ``ttm_embedding`` -> ``embedding``,
    ``ttm_conv`` -> ``conv``; attention, dense, conv and embedding layers unchanged."""
    wl = workload
    for spec in workload.layers:
        if spec.format in _KEPT:
            continue
        fmt = _SHAPED_TO_PLAIN.get(spec.format, "dense")
        wl = wl.with_layer(replace(spec, format=fmt, in_shape=(), out_shape=(), ranks=()))
    return wl


def dense_design(design: Design) -> Design:
    """The same hardware, mode and policies running the dense model (no path choices: 2 inputs)."""
    return replace(design, workload=dense_workload(design.workload), path_choices=())


def mac_optimal_design(design: Design) -> Design:
    """The same design with every contraction path chosen for the fewest MACs."""
    return replace(design, path_policy="mac_optimal")


class BaselineInfo(NamedTuple):
    """Front designs against baselines on their own hardware.

    Ratios are baseline / design: above 1 means the design is faster (``speedup``) or spends
    less energy (``energy_ratio``) than the baseline. Latencies in ms, energies in uJ.
    """

    trials: list[int]
    params: list[float]
    compression: list[float]
    latency_ms: list[float]
    energy_uj: list[float]
    dense_latency_ms: list[float]
    dense_energy_uj: list[float]
    dense_speedup: list[float]
    dense_energy_ratio: list[float]
    macopt_latency_ms: list[float]
    macopt_energy_uj: list[float]
    macopt_speedup: list[float]
    macopt_energy_ratio: list[float]
    macs_over_macopt: list[float]
    n_front: int


def _baseline(design: Design) -> tuple[float, float]:
    """Latency [ms] and energy [uJ] of a baseline design; NaN when it cannot be evaluated."""
    try:
        metrics = evaluate(design)
    except DSEError:
        return math.nan, math.nan
    return metrics.latency_ms, metrics.energy_uj


def baseline_numbers(design_json: str) -> list[float]:
    """The four baseline numbers of a design (its JSON record): dense latency [ms] and energy
    [uJ], MAC-optimal latency [ms] and energy [uJ] (NaN where one cannot be evaluated); what
    :func:`baseline_info`'s ``cache`` holds per design."""
    design = Design.from_dict(json.loads(design_json))
    dense_lat, dense_eng = _baseline(dense_design(design))
    macopt_lat, macopt_eng = _baseline(mac_optimal_design(design))
    return [dense_lat, dense_eng, macopt_lat, macopt_eng]


def _known(cache: dict[str, list[float]] | None, key: str) -> list[float] | None:
    """The cached baseline numbers of the design ``key`` (None when absent or incomplete)."""
    known = cache.get(key) if cache is not None else None
    return known if known is not None and len(known) == 4 else None


def fill_baselines(
    front: pd.DataFrame,
    cache: dict[str, list[float]],
    run_many: Callable[[Callable[[str], list[float]], list[str]], list[list[float]] | None],
    *,
    limit: int = 48,
) -> None:
    """Put into ``cache`` the baseline numbers :func:`baseline_info` (same ``front``, ``limit``)
    would evaluate, computed by ``run_many(baseline_numbers, design_jsons)`` (e.g. a study's
    evaluation processes, :meth:`dse.study.Evaluator.map`; None from it: nothing filled)."""
    keys = [str(k) for k in spread(front, limit).get("design_json", []) if _known(cache, str(k)) is None]
    found = run_many(baseline_numbers, keys) if len(keys) > 1 else None
    if found is not None:
        cache.update(zip(keys, found, strict=True))


def spread(front: pd.DataFrame, limit: int) -> pd.DataFrame:
    """At most ``limit`` rows of ``front``, evenly spread along it (all of them when fewer)."""
    if len(front) <= limit:
        return front
    return front.iloc[np.unique(np.linspace(0, len(front) - 1, limit).round().astype(int))]


def baseline_info(front: pd.DataFrame, *, limit: int = 48, cache: dict[str, list[float]] | None = None) -> BaselineInfo:
    """Re-evaluate each front design (at most ``limit``, evenly spread) as dense and MAC-optimal.

    ``cache`` maps a design's JSON to its four baseline numbers (dense latency and energy,
    MAC-optimal latency and energy); designs found there are not re-evaluated, new ones are
    added (a run folder keeps it between dashboard writes).
    """
    n_front = len(front)
    front = spread(front, limit)
    cols: dict[str, list[float]] = {k: [] for k in BaselineInfo._fields if k not in ("trials", "n_front")}
    trials: list[int] = []
    for _, row in front.iterrows():
        key = str(row["design_json"])
        known = _known(cache, key)
        if known is not None:
            dense_lat, dense_eng, macopt_lat, macopt_eng = (float(v) for v in known)
        else:
            numbers = baseline_numbers(key)
            dense_lat, dense_eng, macopt_lat, macopt_eng = numbers
            if cache is not None:
                cache[key] = numbers
        lat, eng = float(row["latency_ms"]), float(row["energy_uj"])
        trials.append(int(row["trial"]))
        cols["params"].append(float(row["params"]))
        cols["compression"].append(float(row["compression"]))
        cols["latency_ms"].append(lat)
        cols["energy_uj"].append(eng)
        cols["dense_latency_ms"].append(dense_lat)
        cols["dense_energy_uj"].append(dense_eng)
        cols["dense_speedup"].append(ratio(dense_lat, lat))
        cols["dense_energy_ratio"].append(ratio(dense_eng, eng))
        cols["macopt_latency_ms"].append(macopt_lat)
        cols["macopt_energy_uj"].append(macopt_eng)
        cols["macopt_speedup"].append(ratio(macopt_lat, lat))
        cols["macopt_energy_ratio"].append(ratio(macopt_eng, eng))
        cols["macs_over_macopt"].append(ratio(float(row["macs"]), float(row["mac_optimal_macs"])))
    return BaselineInfo(trials=trials, n_front=n_front, **cols)
