"""Search spaces over every linear layer format (issue 11): format choices, per-format knobs and
rank names, the workload's explicit shapes and ranks, and the names of today's files."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from dse import ConfigError, design_record
from dse.cli import main
from dse.config import load_study_config
from dse.space import searched_parameters
from dse.study import run_study
from dse.study import searched_parameters as every_parameter

DATA = Path(__file__).parents[1] / "data"
COMPAT = DATA / "compat_2026_11_29" / "studies"
NAMES: dict[str, dict[str, list[str]]] = json.loads((DATA / "searched_parameters_2026_11_29.json").read_text())

HARDWARE: dict[str, Any] = {
    "pe_rows": {"choices": [8, 16]},
    "pe_cols": 16,
    "ifmap_sram_kb": 32,
    "filter_sram_kb": 32,
    "ofmap_sram_kb": 32,
    "dram_bw_bytes_per_cycle": 16,
    "dataflow": "ws",
}
LAYERS: list[dict[str, Any]] = [
    {"name": "fc1", "format": "ttm", "in_features": 256, "out_features": 256},
    {"name": "fc2", "format": "dense", "in_features": 256, "out_features": 10},
]


def _study(tmp: Path, model: dict[str, Any], layers: list[dict[str, Any]] | None = None, **extra: Any) -> Path:
    data = {
        "name": "formats",
        "workload": {"batch": 8, "layers": copy.deepcopy(layers or LAYERS)},
        "mode": "training",
        "space": {"hardware": HARDWARE, "model": model},
        "objectives": ["latency_ms", {"params": "maximize"}],
        "sampler": {"name": "random", "seed": 0},
        "n_trials": 8,
        **extra,
    }
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _load(path: Path) -> Any:
    return load_study_config(path, overrides={"run_dir": path.parent / "run"})


@pytest.mark.parametrize("path", sorted(COMPAT.glob("*.yaml")), ids=lambda p: p.stem)
def test_files_of_2026_11_29_search_the_same_parameters(path: Path) -> None:
    cfg = load_study_config(path)
    assert searched_parameters(cfg) == NAMES[path.name]["first_design"]
    assert [p.name for p in every_parameter(cfg)] == NAMES[path.name]["every_branch"]


def test_a_tied_rank_is_counted_once() -> None:
    cfg = load_study_config(COMPAT / "fpga_tt_bert.yaml")
    names = searched_parameters(cfg)
    assert names.count("rank") == 1 and len(names) == len(set(names))


@pytest.mark.parametrize("fmt", ["tt", "tucker", "tr", "cp", "ttm", "lowrank", "lora"])
def test_a_study_per_format_runs_and_varies_the_rank(fmt: str, tmp_path: Path) -> None:
    model = {"default": {"format": fmt, "d": 2, "shape_top_k": 2, "rank": {"low": 2, "high": 12}}}
    cfg = _load(_study(tmp_path, model))
    assert "rank@fc1" in searched_parameters(cfg)
    done = run_study(cfg, progress=False)
    assert done.summary.completed == 8 and done.summary.failed == 0
    layers = [design_record(t.user_attrs["design"])["workload"]["layers"][0] for t in done.study.trials]
    assert {layer["format"] for layer in layers} == {fmt}
    ranks = {tuple(layer["ranks"]) for layer in layers}
    assert len(ranks) > 1  # the rank varies
    for t, layer in zip(done.study.trials, layers, strict=True):
        r = t.params["rank@fc1"]
        expected = {
            "tt": (1, r, r, r, 1),
            "ttm": (1, r, 1),
            "tr": (r, r, r),
            "tucker": (r, r, r, r),
        }.get(fmt, (r,))
        assert tuple(layer["ranks"]) == expected  # the format's own expansion of one value


def test_the_format_itself_is_searched_with_a_rank_name_per_format(tmp_path: Path) -> None:
    formats = ["tt", "ttm", "tucker", "tr", "cp", "lowrank", "lora", "dense"]
    model = {
        "default": {
            "format": {"choices": formats},
            "d": {"choices": [2, 3]},
            "shape_top_k": 2,
            "rank": {"low": 2, "high": 6},
        }
    }
    cfg = _load(_study(tmp_path, model, n_trials=40))
    names = [p.name for p in every_parameter(cfg)]
    assert "format@fc1" in names and "d@fc1" in names
    assert {f"rank_{f}@fc1" for f in formats if f != "dense"} <= set(names)
    assert "rank@fc1" not in names
    assert {"in_shape_d2@fc1", "in_shape_d3@fc1"} <= set(names)  # shapes mean the same in every format
    done = run_study(cfg, progress=False)
    assert done.summary.failed == 0
    seen = Counter(t.params["format@fc1"] for t in done.study.trials)
    assert len(seen) >= 6
    for t in done.study.trials:
        fmt = t.params["format@fc1"]
        assert ("d@fc1" in t.params) == (fmt in ("tt", "ttm", "tucker", "tr", "cp"))
        assert (f"rank_{fmt}@fc1" in t.params) == (fmt != "dense")


def test_per_format_rank_ranges(tmp_path: Path) -> None:
    rank = {"tt": {"low": 2, "high": 4}, "cp": {"choices": [16, 32]}}
    cfg = _load(_study(tmp_path, {"default": {"format": {"choices": ["tt", "cp"]}, "d": 2, "rank": rank}}, n_trials=12))
    done = run_study(cfg, progress=False)
    for t in done.study.trials:
        if "rank_cp@fc1" in t.params:
            assert t.params["rank_cp@fc1"] in (16, 32)
        else:
            assert 2 <= t.params["rank_tt@fc1"] <= 4


def test_tied_ranks_over_several_formats_are_one_per_format(tmp_path: Path) -> None:
    layers = [*LAYERS[:1], {"name": "fc2", "format": "ttm", "in_features": 256, "out_features": 256}]
    model = {"tie_ranks": True, "default": {"format": {"choices": ["tt", "cp"]}, "d": 2, "rank": {"low": 2, "high": 8}}}
    cfg = _load(_study(tmp_path, model, layers))
    names = [p.name for p in every_parameter(cfg)]
    assert names.count("rank_tt") == 1 and names.count("rank_cp") == 1
    done = run_study(cfg, progress=False)
    for t in done.study.trials:
        layers_of = design_record(t.user_attrs["design"])["workload"]["layers"]
        for layer in layers_of:
            if layer["format"] == "cp":
                assert layer["ranks"] == [t.params["rank_cp"]]


EXPLICIT: list[dict[str, Any]] = [
    {"name": "fc1", "format": "ttm", "in_features": 256, "out_features": 256}
    | {"in_shape": [4, 8, 8], "out_shape": [8, 8, 4], "ranks": 6},
    LAYERS[1],
]


def test_explicit_shapes_are_kept_unless_the_space_names_them(tmp_path: Path) -> None:
    cfg = _load(_study(tmp_path, {"default": {"rank": {"low": 2, "high": 8}}}, EXPLICIT, n_trials=4))
    assert searched_parameters(cfg) == ["pe_rows", "rank@fc1"]  # shapes kept: the space names only the rank
    assert len(cfg.space.notices) == 1 and "fc1" in cfg.space.notices[0] and "ranks" in cfg.space.notices[0]
    done = run_study(cfg, progress=False)
    for t in done.study.trials:
        layer = design_record(t.user_attrs["design"])["workload"]["layers"][0]
        assert layer["in_shape"] == [4, 8, 8] and layer["out_shape"] == [8, 8, 4]


def test_search_key_says_what_replaces_the_workload_values(tmp_path: Path) -> None:
    model = {"default": {"d": 3, "shape_top_k": 2, "rank": {"low": 2, "high": 8}, "search": ["shapes", "ranks"]}}
    cfg = _load(_study(tmp_path, model, EXPLICIT))
    assert cfg.space.notices == ()
    assert {"in_shape@fc1", "out_shape@fc1", "rank@fc1"} <= set(searched_parameters(cfg))
    keep = {"default": {"format": "tt", "search": ["ranks"], "rank": {"low": 2, "high": 8}}}
    cfg = _load(_study(tmp_path, keep, EXPLICIT, n_trials=2))
    assert searched_parameters(cfg) == ["pe_rows", "rank@fc1"]
    trial = run_study(cfg, progress=False).study.trials[0]
    design_layer = design_record(trial.user_attrs["design"])["workload"]
    assert design_layer["layers"][0]["format"] == "tt" and design_layer["layers"][0]["in_shape"] == [4, 8, 8]


def test_search_nothing_keeps_the_workload_and_searches_the_hardware(tmp_path: Path) -> None:
    cfg = _load(_study(tmp_path, {"default": {"search": []}}, EXPLICIT))
    assert searched_parameters(cfg) == ["pe_rows"]
    assert cfg.space.notices == ()


def test_notice_is_printed_by_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = {"default": {"d": 3, "shape_top_k": 2, "rank": 4}}
    path = _study(tmp_path, model, EXPLICIT)
    assert main(["check", str(path), "--run-dir", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "model.default replaces the ranks and shapes the workload gives for fc1" in err
    assert "search: [shapes, ranks]" in err


def test_conv_layer_is_searched_with_its_family(tmp_path: Path) -> None:
    conv = {"name": "conv1", "format": "conv", "in_channels": 16, "out_channels": 32, "kernel": 3, "image": 8}
    model = {"layers": {"conv1": {"format": {"choices": ["conv", "ttm_conv"]}, "d": 2, "rank": {"low": 2, "high": 6}}}}
    cfg = _load(_study(tmp_path, model, [conv, LAYERS[1] | {"in_features": 32}], n_trials=6))
    done = run_study(cfg, progress=False)
    assert done.summary.failed == 0
    assert {t.params["format@conv1"] for t in done.study.trials} <= {"conv", "ttm_conv"}


BAD: list[tuple[str, dict[str, Any], list[dict[str, Any]] | None, str]] = [
    ("unknown format", {"default": {"format": "tq"}}, None, "model.default.format"),
    ("conv format for a linear layer", {"default": {"format": "ttm_conv"}}, None, "model.default.format"),
    ("format choice", {"default": {"format": {"choices": ["tt", "attention"]}}}, None, "model.default.format"),
    ("depth below a format's", {"default": {"format": {"choices": ["tt", "tr"]}, "d": 1}}, None, "model.default.d"),
    ("search value", {"default": {"search": ["ranks", "depth"]}}, EXPLICIT, "model.default.search[1]"),
    ("search type", {"default": {"search": {"ranks": True}}}, EXPLICIT, "model.default.search"),
    ("keep absent ranks", {"default": {"search": ["shapes"]}}, None, "model.default.search"),
    (
        "keep ranks of another format",
        {"default": {"format": "cp", "search": ["shapes"]}},
        EXPLICIT,
        "model.default.search",
    ),
    (
        "rank per format missing",
        {"default": {"format": {"choices": ["tt", "cp"]}, "rank": {"tt": 4}}},
        None,
        "model.default.rank",
    ),
    (
        "rank per format unknown",
        {"default": {"format": "tt", "rank": {"tt": 4, "cp": 3}}},
        None,
        "model.default.rank.cp",
    ),
    ("rank zero", {"default": {"format": "cp", "rank": 0}}, None, "model.default.rank"),
    (
        "tied ranks differ",
        {"tie_ranks": True, "layers": {"fc1": {"rank": 4}, "fc2": {"rank": 8}}},
        [LAYERS[0], LAYERS[0] | {"name": "fc2"}],
        "model.tie_ranks",
    ),
    (
        "override attention",
        {"layers": {"att": {"rank": 4}}},
        [{"name": "att", "format": "attention", "in_features": 64, "out_features": 64, "heads": 4}, LAYERS[0]],
        "model.layers.att",
    ),
]


@pytest.mark.parametrize(("case", "model", "layers", "field"), BAD, ids=[c[0] for c in BAD])
def test_bad_model_space_is_one_line_naming_the_field(
    case: str,
    model: dict[str, Any],
    layers: list[dict[str, Any]] | None,
    field: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _study(tmp_path, model, layers)
    with pytest.raises(ConfigError) as info:
        _load(path)
    assert info.value.field == field, str(info.value)
    code = main(["run", str(path), "--run-dir", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"study.yaml: {field}: " in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["tt_formats", "llama7b_lora"])
def test_shipped_format_studies_run(name: str, root: Path, tmp_path: Path) -> None:
    cfg = load_study_config(root / "studies" / f"{name}.yaml", overrides={"run_dir": tmp_path / "run", "n_trials": 4})
    assert cfg.space.notices == ()  # the studies say what they search
    done = run_study(cfg, progress=False)
    assert done.summary.completed == 4
