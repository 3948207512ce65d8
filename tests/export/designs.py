"""Small designs built in code for the exporter tests (no study needed)."""

from __future__ import annotations

from typing import Any

from analytical_models import Hardware
from dse import Design, Metrics
from dse.evaluate import evaluate
from dse.workload import LayerSpec, Workload

TOKENS = 8


def small_workload(tokens: int = TOKENS) -> Workload:
    """A TTM layer (64 -> 64, shapes 4x4x4, ranks 1-4-4-1) and a dense head (64 -> 10)."""
    layers = (
        LayerSpec(
            name="fc1",
            format="ttm",
            in_features=64,
            out_features=64,
            in_shape=(4, 4, 4),
            out_shape=(4, 4, 4),
            ranks=(1, 4, 4, 1),
            tokens_per_step=tokens,
        ),
        LayerSpec(name="fc2", format="dense", in_features=64, out_features=10, tokens_per_step=tokens),
    )
    return Workload(name="tiny", batch=tokens, seq_len=1, layers=layers)


def small_hardware(**overrides: Any) -> Hardware:
    """A 16 x 16 Gemmini-buildable array (256 KiB scratchpad, 64 KiB accumulator), WS + OS."""
    fields: dict[str, Any] = {
        "pe_rows": 16,
        "pe_cols": 16,
        "ifmap_sram_kb": 128.0,
        "filter_sram_kb": 128.0,
        "ofmap_sram_kb": 64.0,
        "dram_bw_bytes_per_cycle": 16.0,
        "freq_mhz": 400.0,
        "bits": 8,
        "acc_bits": 32,
        "dataflows": ("ws", "os"),
    }
    fields.update(overrides)
    return Hardware(**fields)


def small_design(mode: str = "training", **hw: Any) -> tuple[Design, Metrics]:
    """The design and its metrics."""
    design = Design(workload=small_workload(), hardware=small_hardware(**hw), mode=mode)
    return design, evaluate(design)
