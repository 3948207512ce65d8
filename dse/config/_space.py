"""Search-space YAML (``search_spaces/*.yaml``) -> a validated :class:`SpaceConfig`.

A space names the hardware parameters, how each tensorizable layer's configuration is searched
and the path / mapping policies. Names (engines, tech profiles, path policies and optimizers)
are checked against their registries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any

from analytical_models import (
    DATAFLOWS,
    MEMORY_TIMINGS,
    OBJECTIVES,
    Hardware,
    ModelInputError,
    engine_names,
    tech_names,
)
from dse import ConfigError
from dse._yaml import as_mapping, as_str, check_keys, join
from dse.config._model_space import LayerSpace, parse_model_space
from dse.config._params import FloatRange, IntRange, ParamSpec, param_values, parse_param
from dse.contraction import PATH_OPTIMIZERS
from dse.evaluate import PATH_POLICIES
from dse.schedule import EXECUTIONS
from dse.workload import Workload, format_names

HARDWARE_KEYS: tuple[str, ...] = (
    "engine",
    "pe_rows",
    "pe_cols",
    "ifmap_sram_kb",
    "filter_sram_kb",
    "ofmap_sram_kb",
    "dram_bw_bytes_per_cycle",
    "freq_mhz",
    "bits",
    "tech",
    "dataflow",
    "memory_timing",
)
"""Hardware keys of a space, in the order they are suggested."""
TEMPLATE_KEYS: tuple[str, ...] = ("n_engines", "aux_rows", "aux_cols")
"""Hardware keys of the templates (``ce_array``: engines; ``tt_gemm``: the TT-core engine's
array). Optional; suggested only for the engine that declares them (its ``knobs``), which also
gives their default."""
SEARCHABLE_FORMATS: tuple[str, ...] = format_names(family="linear")
"""Formats a linear layer's space may choose (``model.default.format``): the ``linear`` family
of the format registry at import time (:func:`dse.workload.format_names` lists the current one)."""


@dataclass(frozen=True, slots=True)
class SpaceConfig:
    """A declarative search space (``search_spaces/*.yaml``), validated."""

    source: str
    hardware: tuple[tuple[str, ParamSpec], ...]
    layers: tuple[LayerSpace, ...]
    path_policy: str
    path_optimizer: str
    mapping_objective: str
    tie_ranks: bool = False
    execution: str = "auto"
    notices: tuple[str, ...] = ()
    """Things the space does that the user may not expect (the workload's explicit shapes or
    ranks replaced by the search); ``dse check`` and ``dse run`` print them."""

    @property
    def hardware_dict(self) -> dict[str, ParamSpec]:
        """Hardware parameters by name."""
        return dict(self.hardware)


_HW_KIND = {
    "engine": "str",
    "pe_rows": "int",
    "pe_cols": "int",
    "ifmap_sram_kb": "float",
    "filter_sram_kb": "float",
    "ofmap_sram_kb": "float",
    "dram_bw_bytes_per_cycle": "float",
    "freq_mhz": "float",
    "bits": "int",
    "tech": "str",
    "dataflow": "str",
    "memory_timing": "str",
}
_HW_FIELD_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Hardware) if f.default is not MISSING}
_HW_DEFAULTS: dict[str, Any] = {
    **{k: v for k, v in _HW_FIELD_DEFAULTS.items() if k in HARDWARE_KEYS},
    "dataflow": _HW_FIELD_DEFAULTS["dataflows"][0],
}
"""Values of hardware keys a space may leave out: the :class:`analytical_models.Hardware` defaults."""

_HW_CHOICES: dict[str, tuple[str, ...]] = {}


def _hw_choices() -> dict[str, tuple[str, ...]]:
    if not _HW_CHOICES:
        _HW_CHOICES.update(
            engine=engine_names(), tech=tech_names(), dataflow=(*DATAFLOWS, "any"), memory_timing=MEMORY_TIMINGS
        )
    return _HW_CHOICES


def parse_space(data: Mapping[str, Any], *, source: str, workload: Workload) -> SpaceConfig:
    """A search-space mapping -> :class:`SpaceConfig` for ``workload``."""
    check_keys(data, ("name", "description", "hardware", "model", "policy"), source, "")
    hw_raw = as_mapping(data.get("hardware", {}), source, "hardware")
    check_keys(hw_raw, HARDWARE_KEYS + TEMPLATE_KEYS, source, "hardware")
    hardware: list[tuple[str, ParamSpec]] = []
    for key in HARDWARE_KEYS:
        fld = join("hardware", key)
        if key not in hw_raw and key not in _HW_DEFAULTS:
            raise ConfigError(source, fld, "a value or {choices: [...]} (required)")
        spec = parse_param(hw_raw.get(key, _HW_DEFAULTS.get(key)), source, fld, kind=_HW_KIND[key])
        allowed = _hw_choices().get(key)
        if allowed is not None:
            for v in param_values(spec):
                if v not in allowed:
                    raise ConfigError(source, fld, f"values from {list(allowed)}, got {v!r}")
        hardware.append((key, spec))
    check_hardware_values(tuple(hardware), source)
    for key in TEMPLATE_KEYS:
        if key in hw_raw:
            hardware.append((key, parse_param(hw_raw[key], source, join("hardware", key), kind="int")))

    model = as_mapping(data.get("model", {}) or {}, source, "model")
    layers, tie_ranks, notices = parse_model_space(model, source=source, workload=workload)
    policy = as_mapping(data.get("policy", {}) or {}, source, "policy")
    check_keys(policy, ("path", "path_optimizer", "mapping_objective", "execution"), source, "policy")
    cfg = SpaceConfig(
        source=source,
        hardware=tuple(hardware),
        layers=layers,
        notices=notices,
        path_policy=as_str(policy.get("path", "hardware_aware"), source, "policy.path", choices=PATH_POLICIES.names()),
        path_optimizer=as_str(
            policy.get("path_optimizer", "dp"),
            source,
            "policy.path_optimizer",
            choices=PATH_OPTIMIZERS.names(),
        ),
        tie_ranks=tie_ranks,
        execution=as_str(policy.get("execution", "auto"), source, "policy.execution", choices=EXECUTIONS.names()),
        mapping_objective=as_str(
            policy.get("mapping_objective", "latency"),
            source,
            "policy.mapping_objective",
            choices=OBJECTIVES,
        ),
    )
    return cfg


def extreme_values(spec: ParamSpec) -> tuple[Any, ...]:
    """The values of a parameter that bound it: every choice, or a range's ends."""
    if isinstance(spec, IntRange | FloatRange):
        return (spec.low, spec.high)
    return param_values(spec)


def hardware_of(values: Mapping[str, Any]) -> Hardware:
    """The accelerator of one value per hardware key (``dataflow: any`` = every dataflow)."""
    dataflow = values["dataflow"]
    return Hardware(
        engine=values["engine"],
        pe_rows=int(values["pe_rows"]),
        pe_cols=int(values["pe_cols"]),
        ifmap_sram_kb=float(values["ifmap_sram_kb"]),
        filter_sram_kb=float(values["filter_sram_kb"]),
        ofmap_sram_kb=float(values["ofmap_sram_kb"]),
        dram_bw_bytes_per_cycle=float(values["dram_bw_bytes_per_cycle"]),
        freq_mhz=float(values["freq_mhz"]),
        bits=int(values["bits"]),
        tech=values["tech"],
        dataflows=DATAFLOWS if dataflow == "any" else (dataflow,),
        memory_timing=values["memory_timing"],
    )


def check_hardware_values(hardware: tuple[tuple[str, ParamSpec], ...], source: str) -> None:
    """Refuse a hardware value no design can use, naming its key.

    Every value (every choice, a range's ends) must make a valid accelerator with the other keys
    at their first values; ``bits`` must fit the accumulator (``acc_bits``); the ifmap and
    filter buffers must hold one operand element at the widest ``bits`` in half their capacity
    (they are double-buffered), or no GEMM tile fits and every trial would fail.
    """
    specs = dict(hardware)
    acc_bits = int(_HW_FIELD_DEFAULTS["acc_bits"])
    for bits in extreme_values(specs["bits"]):
        if bits > acc_bits:
            raise ConfigError(
                source, "hardware.bits", f"at most {acc_bits} (the accumulator width, acc_bits), got {bits}"
            )
    widest = max(int(b) for b in extreme_values(specs["bits"]))
    element_kb = widest / 8 / 512  # one element in half of the buffer (1 kB = 1024 bytes)
    for key in ("ifmap_sram_kb", "filter_sram_kb"):
        smallest = min(float(v) for v in extreme_values(specs[key]))
        if smallest < element_kb:
            raise ConfigError(
                source,
                join("hardware", key),
                f"at least {element_kb:.4g} kB (half of this double-buffered buffer must hold one "
                f"{widest}-bit element), got {smallest:g}",
            )
    first = {key: extreme_values(spec)[0] for key, spec in hardware}
    for key, spec in hardware:
        for value in extreme_values(spec):
            try:
                hardware_of({**first, key: value})
            except ModelInputError as exc:
                raise ConfigError(source, join("hardware", key), f"a valid accelerator value ({exc})") from None
