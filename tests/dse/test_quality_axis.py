"""The model-quality axis of a study (issue 11): a quality callable called once per distinct model
configuration (across a run, a resume, ``--n-jobs`` processes and two ``dse worker`` processes),
a quality table, ``weight_error`` of named layer weights, and every bad value of the new keys."""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from dse import ConfigError, design_record
from dse.cli import main
from dse.config import load_study_config
from dse.study import run_study

HARDWARE: dict[str, Any] = {
    "pe_rows": {"choices": [4, 8, 16, 32]},
    "pe_cols": {"choices": [4, 8, 16]},
    "ifmap_sram_kb": 16,
    "filter_sram_kb": 16,
    "ofmap_sram_kb": 16,
    "dram_bw_bytes_per_cycle": 8,
    "dataflow": "ws",
}
LAYERS: list[dict[str, Any]] = [
    {"name": "fc1", "format": "ttm", "in_features": 64, "out_features": 64},
    {"name": "fc2", "format": "dense", "in_features": 64, "out_features": 8},
]
MODEL: dict[str, Any] = {
    "layers": {
        "fc1": {"format": {"choices": ["tt", "cp", "lowrank"]}, "d": 2, "shape_top_k": 1, "rank": {"choices": [2, 3]}}
    }
}

COUNTING = '''
"""A quality callable that records every call (one line per call, appended)."""
import hashlib, json, os, time

def score(model):
    fc1 = next(layer for layer in model["layers"] if layer["name"] == "fc1")
    key = hashlib.sha256(json.dumps(model, sort_keys=True).encode()).hexdigest()
    with open(os.path.join(os.path.dirname(__file__), "calls.txt"), "a") as f:
        f.write(key + " " + fc1["format"] + " " + "x".join(map(str, fc1["ranks"])) + "\\n")
    time.sleep(0.2)  # widen the window in which two processes could both measure
    return {"tt": 0.9, "cp": 0.8, "lowrank": 0.7}[fc1["format"]] + 0.01 * sum(fc1["ranks"])

def not_a_number(model):
    return "high"

def broken(model):
    raise ValueError("no GPU here")
'''


def _study(tmp: Path, *, quality: Any = None, model: dict[str, Any] | None = None, **extra: Any) -> Path:
    data: dict[str, Any] = {
        "name": "quality",
        "workload": {"batch": 8, "layers": copy.deepcopy(extra.pop("layers", LAYERS))},
        "mode": "training",
        "space": {"hardware": HARDWARE, "model": model if model is not None else MODEL},
        "objectives": extra.pop("objectives", ["latency_ms", "accuracy"]),
        "sampler": {"name": "random", "seed": 0},
        "n_trials": 12,
        **extra,
    }
    if quality is not None:
        data["quality"] = quality
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _expected(fmt: str, ranks: list[int]) -> float:
    return {"tt": 0.9, "cp": 0.8, "lowrank": 0.7}[fmt] + 0.01 * sum(ranks)


def _dse(*argv: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "dse.cli", *argv], cwd=cwd, env=env, text=True)


def test_callable_is_called_once_per_configuration_across_resume_and_workers(tmp_path: Path) -> None:
    (tmp_path / "counting.py").write_text(COUNTING)
    model = {"layers": {"fc1": MODEL["layers"]["fc1"] | {"rank": {"choices": [2, 3, 4, 5]}}}}  # 12 configurations
    path = _study(tmp_path, quality={"callable": "counting.py:score"}, model=model, n_trials=4)
    run_dir = tmp_path / "run"
    assert main(["run", str(path), "--run-dir", str(run_dir), "--quiet"]) == 0
    assert main(["resume", str(path), "--run-dir", str(run_dir), "--quiet", "--n-trials", "8", "--n-jobs", "2"]) == 0
    # two workers with the same seeded sampler propose the same configurations at the same time
    workers = [
        _dse(
            "worker",
            str(path),
            "--run-dir",
            str(run_dir),
            "--quiet",
            "--n-trials",
            "40",
            "--batch-size",
            "3",
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    assert [w.wait(timeout=600) for w in workers] == [0, 0]
    assert main(["pareto", str(path), "--run-dir", str(run_dir)]) == 0

    calls = (tmp_path / "calls.txt").read_text().split("\n")[:-1]
    per_config = Counter(line.split()[0] for line in calls)
    assert per_config and max(per_config.values()) == 1  # never twice for one configuration
    with (run_dir / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 40
    configs = set()
    for row in rows:
        layer = json.loads(row["design_json"])["workload"]["layers"][0]
        configs.add((layer["format"], tuple(layer["ranks"])))
        assert float(row["accuracy"]) == pytest.approx(_expected(layer["format"], layer["ranks"]))  # a column
    assert len(per_config) == len(configs)  # one call per distinct configuration, none more
    journal = (run_dir / "quality_cache.jsonl").read_text().splitlines()
    assert len(journal) == len(configs)


def test_callable_value_is_an_objective_and_a_dashboard_axis(tmp_path: Path) -> None:
    (tmp_path / "counting.py").write_text(COUNTING)
    path = _study(tmp_path, quality={"callable": "counting.py:score"})
    cfg = load_study_config(path, overrides={"run_dir": tmp_path / "run"})
    assert cfg.directions == ["minimize", "maximize"]
    done = run_study(cfg, progress=False)
    assert done.summary.failed == 0
    from dse.outputs import trials_frame
    from dse.report.dashboard import front_figures

    df = trials_frame(done.study, cfg)
    figs = front_figures(df, dict(zip(cfg.objectives, cfg.directions, strict=True)))
    axes = {(f.layout.xaxis.title.text, f.layout.yaxis.title.text) for f in figs}
    assert ("model accuracy [score]", "latency per step [ms]") in axes
    for t in done.study.trials:
        assert t.values[1] == t.user_attrs["metrics"]["accuracy"]


@pytest.mark.parametrize(
    ("fn", "reason"), [("not_a_number", "returned 'high'"), ("broken", "raised ValueError: no GPU")]
)
def test_callable_failure_fails_the_trial_with_the_reason(fn: str, reason: str, tmp_path: Path) -> None:
    (tmp_path / "counting.py").write_text(COUNTING)
    cfg = load_study_config(
        _study(tmp_path, quality={"callable": f"counting.py:{fn}"}, n_trials=3), overrides={"run_dir": tmp_path / "run"}
    )
    done = run_study(cfg, progress=False)
    assert done.summary.completed == 0 and done.summary.failed == 3
    assert reason in done.summary.fail_reasons[0][0]
    assert not (tmp_path / "run" / "quality_cache.jsonl").exists()  # a failure is not recorded


TABLE = """format@fc1,rank@fc1,in_shape@fc1,accuracy
tt,2,,0.91
tt,3,,0.93
cp,2,,0.81
cp,3,8x8,0.83
cp,3,,0.5
lowrank,,,0.7
"""


def test_table_gives_the_accuracy_of_the_most_specific_row(tmp_path: Path) -> None:
    (tmp_path / "acc.csv").write_text(TABLE)
    cfg = load_study_config(_study(tmp_path, quality={"table": "acc.csv"}), overrides={"run_dir": tmp_path / "run"})
    done = run_study(cfg, progress=False)
    assert done.summary.failed == 0
    for t in done.study.trials:
        layer = design_record(t.user_attrs["design"])["workload"]["layers"][0]
        r = t.params.get(f"rank_{layer['format']}@fc1")
        table: dict[tuple[str, int], float] = {("tt", 2): 0.91, ("tt", 3): 0.93, ("cp", 2): 0.81, ("cp", 3): 0.83}
        expected = table.get((str(layer["format"]), int(r or 0)), 0.7)
        assert t.user_attrs["metrics"]["accuracy"] == expected


def test_table_without_the_configuration_fails_the_trial_naming_it(tmp_path: Path) -> None:
    (tmp_path / "acc.csv").write_text("format@fc1,rank@fc1,accuracy\ntt,2,0.91\n")
    model = {"layers": {"fc1": {"format": "tt", "d": 2, "shape_top_k": 1, "rank": {"choices": [2, 5]}}}}
    cfg = load_study_config(
        _study(tmp_path, quality={"table": "acc.csv"}, model=model, n_trials=8), overrides={"run_dir": tmp_path / "run"}
    )
    done = run_study(cfg, progress=False)
    assert done.summary.completed >= 1 and done.summary.failed >= 1
    (reason, _count), *_ = done.summary.fail_reasons
    assert "acc.csv: no row for the configuration fc1: tt in 8x8 out 8x8 ranks 1x5x5x5x1" in reason


def _ttm_weight(ins: tuple[int, ...], outs: tuple[int, ...], ranks: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(5)
    cores = [
        rng.standard_normal((ranks[k], m, n, ranks[k + 1])) for k, (m, n) in enumerate(zip(ins, outs, strict=True))
    ]
    t = cores[0]
    for core in cores[1:]:
        t = np.tensordot(t, core, axes=([-1], [0]))
    d = len(ins)
    t = t.reshape([s for m, n in zip(ins, outs, strict=True) for s in (m, n)])
    t = t.transpose([2 * k for k in range(d)] + [2 * k + 1 for k in range(d)])
    return t.reshape(math.prod(ins), math.prod(outs))


def test_weight_error_of_named_weights_is_a_column_and_an_objective(tmp_path: Path) -> None:
    w1 = _ttm_weight((8, 8), (8, 8), (1, 3, 1))  # exactly TT-matrix rank 3
    w2 = np.random.default_rng(0).standard_normal((64, 8))
    np.savez(tmp_path / "weights.npz", fc1=w1, fc2_torch=w2.T)
    layers = [
        {**LAYERS[0], "weights": {"file": "weights.npz", "key": "fc1"}},
        {**LAYERS[1], "weights": {"file": "weights.npz", "key": "fc2_torch", "transpose": True}},
    ]
    model = {"layers": {"fc1": {"format": "ttm", "d": 2, "shape_top_k": 1, "rank": {"choices": [1, 2, 3]}}}}
    path = _study(tmp_path, model=model, layers=layers, objectives=["latency_ms", "weight_error"], n_trials=10)
    cfg = load_study_config(path, overrides={"run_dir": tmp_path / "run"})
    assert cfg.directions == ["minimize", "minimize"]
    done = run_study(cfg, progress=False)
    assert done.summary.failed == 0
    from dse.quality import weight_error

    for t in done.study.trials:
        r = t.params["rank@fc1"]
        e1 = weight_error(w1, fmt="ttm", in_shape=(8, 8), out_shape=(8, 8), ranks=r).relative_error
        mean = (64 * 64 * e1 + 64 * 8 * 0.0) / (64 * 64 + 64 * 8)  # dense fc2: exact; weighted by dense params
        assert t.user_attrs["metrics"]["weight_error"] == pytest.approx(mean, abs=1e-12)
        if r == 3:
            assert t.user_attrs["metrics"]["weight_error"] < 1e-10
    assert main(["pareto", str(path), "--run-dir", str(tmp_path / "run")]) == 0
    with (tmp_path / "run" / "trials.csv").open() as f:
        assert "weight_error" in next(csv.reader(f))


@pytest.mark.skipif(not __import__("importlib").util.find_spec("sklearn"), reason="needs scikit-learn")
def test_shipped_digits_quality_study_runs(root: Path, tmp_path: Path) -> None:
    cfg = load_study_config(
        root / "studies" / "digits_quality.yaml", overrides={"run_dir": tmp_path / "run", "n_trials": 4}
    )
    assert cfg.quality is not None and "accuracy" in cfg.objectives
    done = run_study(cfg, progress=False)
    assert done.summary.completed == 4
    assert all(0.0 <= t.user_attrs["metrics"]["accuracy"] <= 1.0 for t in done.study.trials)


def _bad(tmp: Path) -> list[tuple[str, dict[str, Any], str, str]]:
    """(case, study keys, file the error names, field)."""
    (tmp / "counting.py").write_text(COUNTING)
    np.savez(tmp / "w.npz", fc1=np.ones((64, 64)), small=np.ones((8, 8)), vec=np.ones(4))
    (tmp / "w.txt").write_text("x")
    tables = {
        "no_value.csv": "format@fc1,rank@fc1\ntt,2\n",
        "bad_layer.csv": "format@fc9,accuracy\ntt,0.9\n",
        "bad_knob.csv": "colour@fc1,accuracy\nred,0.9\n",
        "bad_format.csv": "format@fc1,accuracy\nttm_conv,0.9\n",
        "bad_rank.csv": "rank@fc1,accuracy\ntwo,0.9\n",
        "bad_value.csv": "rank@fc1,accuracy\n2,high\n",
        "nan_value.csv": "rank@fc1,accuracy\n2,nan\n",
        "duplicate.csv": "rank@fc1,accuracy\n2,0.9\n2,0.8\n",
        "short_row.csv": "rank@fc1,accuracy\n2\n",
        "empty.csv": "rank@fc1,accuracy\n",
        "only_value.csv": "accuracy\n0.9\n",
    }
    for name, text in tables.items():
        (tmp / name).write_text(text)
    w = {"file": "w.npz", "key": "fc1"}
    att = {"name": "att", "format": "attention", "in_features": 64, "out_features": 64, "heads": 4}

    def layers(**weights: Any) -> dict[str, Any]:
        return {"layers": [{**LAYERS[0], "weights": weights}, LAYERS[1]], "objectives": ["latency_ms", "weight_error"]}

    study = str(tmp / "study.yaml")
    return [
        ("quality not a mapping", {"quality": 3}, study, "quality"),
        ("quality empty", {"quality": {}}, study, "quality"),
        ("quality both", {"quality": {"callable": "counting.py:score", "table": "acc.csv"}}, study, "quality"),
        ("quality unknown key", {"quality": {"model": "x"}}, study, "quality.model"),
        ("callable no colon", {"quality": {"callable": "counting"}}, study, "quality.callable"),
        ("callable not a string", {"quality": {"callable": 3}}, study, "quality.callable"),
        ("callable no module", {"quality": {"callable": "no_such_module_xyz:f"}}, study, "quality.callable"),
        ("callable no function", {"quality": {"callable": "dse.quality.examples:nope"}}, study, "quality.callable"),
        (
            "callable not callable",
            {"quality": {"callable": "dse.quality.examples:DIGITS_LAYER"}},
            study,
            "quality.callable",
        ),
        ("callable file missing", {"quality": {"callable": "missing.py:f"}}, study, "quality.callable"),
        ("table missing", {"quality": {"table": "missing.csv"}}, str(tmp / "missing.csv"), ""),
        ("table not csv", {"quality": {"table": "w.txt"}}, str(tmp / "w.txt"), ""),
        ("table no value", {"quality": {"table": "no_value.csv"}}, str(tmp / "no_value.csv"), "header"),
        ("table only value", {"quality": {"table": "only_value.csv"}}, str(tmp / "only_value.csv"), "header"),
        ("table bad layer", {"quality": {"table": "bad_layer.csv"}}, str(tmp / "bad_layer.csv"), "column 'format@fc9'"),
        ("table bad knob", {"quality": {"table": "bad_knob.csv"}}, str(tmp / "bad_knob.csv"), "column 'colour@fc1'"),
        (
            "table bad format",
            {"quality": {"table": "bad_format.csv"}},
            str(tmp / "bad_format.csv"),
            "row 2, column 'format@fc1'",
        ),
        (
            "table bad rank",
            {"quality": {"table": "bad_rank.csv"}},
            str(tmp / "bad_rank.csv"),
            "row 2, column 'rank@fc1'",
        ),
        (
            "table bad value",
            {"quality": {"table": "bad_value.csv"}},
            str(tmp / "bad_value.csv"),
            "row 2, column 'accuracy'",
        ),
        (
            "table nan value",
            {"quality": {"table": "nan_value.csv"}},
            str(tmp / "nan_value.csv"),
            "row 2, column 'accuracy'",
        ),
        ("table duplicate", {"quality": {"table": "duplicate.csv"}}, str(tmp / "duplicate.csv"), "row 3"),
        ("table short row", {"quality": {"table": "short_row.csv"}}, str(tmp / "short_row.csv"), "row 2"),
        ("table empty", {"quality": {"table": "empty.csv"}}, str(tmp / "empty.csv"), ""),
        ("accuracy without quality", {}, study, "objectives[1]"),
        ("weight_error without weights", {"objectives": ["latency_ms", "weight_error"]}, study, "objectives[1]"),
        (
            "weight_error constraint without weights",
            {"objectives": ["latency_ms"], "constraints": {"weight_error": 0.5}},
            study,
            "constraints.weight_error",
        ),
        (
            "weights not a mapping",
            layers() | {"layers": [{**LAYERS[0], "weights": "w.npz"}, LAYERS[1]]},
            study,
            "workload.layers[0].weights",
        ),
        ("weights unknown key", layers(**w, dtype="f4"), study, "workload.layers[0].weights.dtype"),
        ("weights no key", layers(file="w.npz"), study, "workload.layers[0].weights.key"),
        ("weights no file", layers(key="fc1"), study, "workload.layers[0].weights.file"),
        ("weights file missing", layers(file="nope.npz", key="fc1"), study, "workload.layers[0].weights.file"),
        ("weights not npz", layers(file="w.txt", key="fc1"), study, "workload.layers[0].weights.file"),
        ("weights transpose", layers(**w, transpose="yes"), study, "workload.layers[0].weights.transpose"),
        ("weights key absent", layers(file="w.npz", key="fc9"), str(tmp / "w.npz"), "key"),
        ("weights wrong size", layers(file="w.npz", key="small"), str(tmp / "w.npz"), "small"),
        ("weights not a matrix", layers(file="w.npz", key="vec"), str(tmp / "w.npz"), "key"),
        (
            "weights on attention",
            {"layers": [att | {"weights": w}, LAYERS[0]], "objectives": ["latency_ms"]},
            study,
            "workload.layers[0].weights",
        ),
    ]


def test_bad_quality_values_are_one_line_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for case, keys, file, field in _bad(tmp_path):
        extra = dict(keys)
        quality = extra.pop("quality", None)
        path = _study(tmp_path, quality=quality, **extra)
        with pytest.raises(ConfigError) as info:
            load_study_config(path, overrides={"run_dir": tmp_path / "run"})
        assert (info.value.source, info.value.field) == (file, field), (case, str(info.value))
        code = main(["run", str(path), "--run-dir", str(tmp_path / "run"), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and err.startswith(f"error: {file}"), (case, err)
        assert not (tmp_path / "run").exists(), case
