"""Every user mistake: exit status 2, one stderr line naming file and field, no run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dse.cli import main

SPACE: dict[str, Any] = {
    "hardware": {
        "pe_rows": {"choices": [8, 16]},
        "pe_cols": 16,
        "ifmap_sram_kb": 32,
        "filter_sram_kb": 32,
        "ofmap_sram_kb": 32,
        "dram_bw_bytes_per_cycle": 16,
        "dataflow": "ws",
    },
    "model": {"default": {"d": 3, "shape_top_k": 2, "rank": {"low": 2, "high": 8}}},
}
STUDY: dict[str, Any] = {
    "name": "bad",
    "workload": {
        "batch": 4,
        "layers": [
            {"name": "fc1", "format": "ttm", "in_features": 64, "out_features": 64},
            {"name": "fc2", "format": "dense", "in_features": 64, "out_features": 10},
        ],
    },
    "mode": "training",
    "space": "space.yaml",
    "objectives": ["latency_ms", "energy_uj", "params"],
    "n_trials": 2,
}


def _write(tmp: Path, study: dict[str, Any], space: dict[str, Any] | None = SPACE) -> Path:
    if space is not None:
        (tmp / "space.yaml").write_text(yaml.safe_dump(space))
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def _run(path: Path, tmp: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", str(path), "--run-dir", str(tmp / "run"), "--quiet", "--n-trials", "2"])
    return code, capsys.readouterr().err


def _mutate(base: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    import copy

    data = copy.deepcopy(base)
    node: Any = data
    keys = dotted.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


_DELETE = object()

STUDY_CASES = [
    ("unknown key", "colour", "red", "study.yaml", "colour"),
    ("wrong type", "n_trials", "many", "study.yaml", "n_trials"),
    ("missing workload", "workload", _DELETE, "study.yaml", "workload"),
    ("bad mode", "mode", "serving", "study.yaml", "mode"),
    ("unknown objective", "objectives", ["speed"], "study.yaml", "objectives"),
    ("missing space file", "space", "nope.yaml", "nope.yaml", "file not found"),
    (
        "shape product",
        "workload.layers.0",
        {
            "name": "fc1",
            "format": "ttm",
            "in_features": 64,
            "out_features": 64,
            "in_shape": [4, 4, 2],
            "out_shape": [4, 4, 4],
            "ranks": 4,
        },
        "study.yaml",
        "in_shape",
    ),
    (
        "rank length",
        "workload.layers.0",
        {
            "name": "fc1",
            "format": "ttm",
            "in_features": 64,
            "out_features": 64,
            "in_shape": [4, 4, 4],
            "out_shape": [4, 4, 4],
            "ranks": [1, 4, 4, 4, 4, 1],
        },
        "study.yaml",
        "ranks",
    ),
    ("unknown format", "workload.layers.1.format", "sparse", "study.yaml", "format"),
    ("negative features", "workload.layers.1.in_features", -3, "study.yaml", "in_features"),
]


@pytest.mark.parametrize(("label", "field", "value", "file", "needle"), STUDY_CASES, ids=[c[0] for c in STUDY_CASES])
def test_study_mistakes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    label: str,
    field: str,
    value: Any,
    file: str,
    needle: str,
) -> None:
    path = _write(tmp_path, _mutate(STUDY, field, value))
    code, err = _run(path, tmp_path, capsys)
    assert code == 2, label
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert file in lines[0] and needle in lines[0], lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()


SPACE_CASES = [
    (
        "empty space",
        {
            **SPACE,
            "hardware": {**SPACE["hardware"], "pe_rows": 8},
            "model": {"default": {"d": 3, "shape_top_k": 1, "rank": 4}},
        },
        "at least one searched",
    ),
    (
        "unknown hw key",
        {**SPACE, "hardware": {**SPACE["hardware"], "pe_depth": 3}},
        "hardware.pe_depth",
    ),
    (
        "bad dataflow",
        {**SPACE, "hardware": {**SPACE["hardware"], "dataflow": "rs"}},
        "hardware.dataflow",
    ),
    (
        "bad memory timing",
        {**SPACE, "hardware": {**SPACE["hardware"], "memory_timing": "eager"}},
        "hardware.memory_timing",
    ),
    (
        "range inverted",
        {**SPACE, "model": {"default": {"rank": {"low": 8, "high": 2}}}},
        "rank.high",
    ),
    (
        "missing pe_cols",
        {**SPACE, "hardware": {k: v for k, v in SPACE["hardware"].items() if k != "pe_cols"}},
        "hardware.pe_cols",
    ),
    (
        "unfactorizable depth",
        {**SPACE, "model": {"default": {"d": 7, "rank": {"low": 2, "high": 8}}}},
        "model.default.d",
    ),
    (
        "unknown layer override",
        {**SPACE, "model": {"layers": {"fc9": {"rank": 4}}}},
        "model.layers.fc9",
    ),
]


@pytest.mark.parametrize(("label", "space", "needle"), SPACE_CASES, ids=[c[0] for c in SPACE_CASES])
def test_space_mistakes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    label: str,
    space: dict[str, Any],
    needle: str,
) -> None:
    path = _write(tmp_path, STUDY, space)
    code, err = _run(path, tmp_path, capsys)
    assert code == 2, label
    line = err.strip()
    assert "\n" not in line and "space.yaml" in line and needle in line, line
    assert not (tmp_path / "run").exists()


def test_missing_study_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path / "absent.yaml", tmp_path, capsys)
    assert code == 2
    assert "absent.yaml" in err and "file not found" in err


def test_invalid_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "study.yaml"
    path.write_text("name: [unclosed\n")
    code, err = _run(path, tmp_path, capsys)
    assert code == 2 and "study.yaml" in err and "YAML" in err


def test_changed_study_refuses_old_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, STUDY)
    code, _ = _run(path, tmp_path, capsys)
    assert code == 0
    changed = _mutate(STUDY, "objectives", ["latency_ms", "params"])
    path = _write(tmp_path, changed)
    code, err = _run(path, tmp_path, capsys)
    assert code == 2 and "study.yaml" in err and "new name" in err
    # the old run is intact and still resumable with the original file
    path = _write(tmp_path, STUDY)
    code, _ = _run(path, tmp_path, capsys)
    assert code == 0


def test_memory_timing_reaches_the_hardware(tmp_path: Path) -> None:
    import optuna

    from dse.config import load_study_config
    from dse.space import suggest

    space = {**SPACE, "hardware": {**SPACE["hardware"], "memory_timing": {"choices": ["overlapped", "serial"]}}}
    cfg = load_study_config(_write(tmp_path, STUDY, space))
    study = optuna.create_study(directions=cfg.directions, sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {suggest(study.ask(), cfg).hardware.memory_timing for _ in range(24)}
    assert seen == {"overlapped", "serial"}


def test_fingerprint_ignores_budget_seed_and_description_but_not_the_space(tmp_path: Path) -> None:
    from dse.config import load_study_config

    base = load_study_config(_write(tmp_path, STUDY)).fingerprint()
    tweaked = {**STUDY, "n_trials": 99, "description": "again", "sampler": {"name": "tpe", "seed": 4}}
    assert load_study_config(_write(tmp_path, tweaked)).fingerprint() == base
    wider = {**SPACE, "hardware": {**SPACE["hardware"], "pe_cols": {"choices": [16, 32]}}}
    assert load_study_config(_write(tmp_path, STUDY, wider)).fingerprint() != base
    other_mode = {**STUDY, "mode": "inference"}
    assert load_study_config(_write(tmp_path, other_mode)).fingerprint() != base


def _fixed_hardware() -> dict[str, Any]:
    return {**SPACE["hardware"], "pe_rows": 16}


def test_space_searching_only_shapes_is_accepted(tmp_path: Path) -> None:
    """Counted by the walk that suggests: shapes alone are a search (once refused as all-fixed)."""
    from dse.config import load_study_config
    from dse.space import searched_parameters

    space = {"hardware": _fixed_hardware(), "model": {"default": {"d": 3, "shape_top_k": 3, "rank": 4}}}
    cfg = load_study_config(_write(tmp_path, STUDY, space), overrides={"run_dir": tmp_path / "r"})
    assert searched_parameters(cfg) == ["in_shape@fc1", "out_shape@fc1"]


def test_space_searching_only_paths_is_accepted(tmp_path: Path) -> None:
    from dse.config import load_study_config
    from dse.space import searched_parameters

    space = {
        "hardware": _fixed_hardware(),
        "model": {"default": {"d": 3, "shape_top_k": 1, "rank": 4}},
        "policy": {"path": "searched"},
    }
    cfg = load_study_config(_write(tmp_path, STUDY, space), overrides={"run_dir": tmp_path / "r"})
    names = searched_parameters(cfg)
    assert names and all(n.startswith("path@fc1/") for n in names)


def test_searched_paths_without_tensorized_layers_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No tensorizable layer and nothing else searched: one line, not an UnboundLocalError."""
    study = _mutate(STUDY, "workload.layers.0.format", "dense")
    space = {"hardware": _fixed_hardware(), "policy": {"path": "searched"}}
    code, err = _run(_write(tmp_path, study, space), tmp_path, capsys)
    assert code == 2 and err.count("\n") == 1
    assert "space.yaml: (space): at least one searched parameter" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("optimizer", ["dp_connected", "mac_optimal", "greedy", "exhaustive"])
def test_every_registered_path_optimizer_is_accepted(tmp_path: Path, optimizer: str) -> None:
    from dse.config import load_study_config
    from dse.contraction import PATH_OPTIMIZERS
    from dse.space import suggest
    from dse.study import evaluate_for_trial, open_study

    assert optimizer in PATH_OPTIMIZERS
    space = {**SPACE, "policy": {"path_optimizer": optimizer}}
    cfg = load_study_config(_write(tmp_path, STUDY, space), overrides={"run_dir": tmp_path / "r"})
    assert cfg.space.path_optimizer == optimizer
    design = suggest(open_study(cfg).ask(), cfg)
    assert design.path_optimizer == optimizer
    assert evaluate_for_trial(design, cfg.objectives, ()).values is not None
