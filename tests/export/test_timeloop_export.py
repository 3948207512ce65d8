"""``timeloop`` target: v0.4 architecture and problem YAML parse with the right numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dse import Design, Metrics
from dse.export import get_exporter


class _TagLoader(yaml.SafeLoader):
    """Keeps Timeloop's node tags (``!Component`` ...) as a ``_tag`` key."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    assert isinstance(node, yaml.MappingNode)
    data = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    return {"_tag": "!" + suffix, **data}


_TagLoader.add_multi_constructor("!", _tagged)


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_TagLoader)  # a SafeLoader subclass


def test_architecture_and_problems(design_metrics: tuple[Design, Metrics], tmp_path: Path) -> None:
    design, metrics = design_metrics
    hw = design.hardware
    files = get_exporter("timeloop")(design, metrics, tmp_path, "t")
    arch = _load(files[0])["architecture"]
    assert arch["version"] == 0.4
    nodes = {n["name"]: n for n in arch["nodes"]}
    assert [n["_tag"] for n in arch["nodes"]] == [
        "!Container",
        "!Component",
        "!Component",
        "!Component",
        "!Component",
        "!Container",
        "!Component",
        "!Component",
    ]
    assert nodes["system"]["attributes"]["global_cycle_seconds"] == 1 / (hw.freq_mhz * 1e6)
    assert nodes["DRAM"]["class"] == "DRAM"
    assert nodes["DRAM"]["attributes"]["shared_bandwidth"] == hw.dram_bw_bytes_per_cycle
    assert nodes["PE"]["spatial"] == {"meshX": hw.pe_cols, "meshY": hw.pe_rows}
    assert nodes["mac"]["attributes"]["datawidth"] == hw.bits
    for name, keep, kb, bits in (
        ("ifmap_sram", "A", hw.ifmap_sram_kb, hw.bits),
        ("filter_sram", "B", hw.filter_sram_kb, hw.bits),
        ("ofmap_sram", "Z", hw.ofmap_sram_kb, hw.acc_bits),
    ):
        attrs = nodes[name]["attributes"]
        assert attrs["depth"] * attrs["width"] == kb * 1024 * 8
        assert attrs["datawidth"] == bits
        assert nodes[name]["constraints"]["dataspace"]["keep"] == [keep]
    steps = [s for p in metrics.passes for s in p.steps]
    assert len(files) == 1 + len(steps)
    for path, s in zip(files[1:], steps, strict=True):
        prob = _load(path)["problem"]
        assert prob["version"] == 0.4
        shape = prob["shape"]
        assert shape["name"] == "GEMM" and shape["dimensions"] == ["M", "N", "K"]
        spaces = {d["name"]: d for d in shape["data_spaces"]}
        assert spaces["A"]["projection"] == [[["M"]], [["K"]]]
        assert spaces["B"]["projection"] == [[["K"]], [["N"]]]
        assert spaces["Z"]["projection"] == [[["M"]], [["N"]]] and spaces["Z"]["read_write"]
        assert prob["instance"] == {"M": s.m, "N": s.n, "K": s.k}
