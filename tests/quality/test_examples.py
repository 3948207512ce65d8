"""The digits smoke-test accuracy (needs scikit-learn for the data set)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from dse.quality import QualityError
from dse.quality.examples import digits_accuracy, digits_quality
from tests._tools import require_tool


def _sklearn() -> None:
    require_tool(importlib.util.find_spec("sklearn") is not None, "scikit-learn (pip install -e '.[dev]')")


def test_ttm_digits_trains_in_seconds() -> None:
    _sklearn()
    res = digits_accuracy()  # fc1 as TTM [4,4,4] -> [4,8,8], rank 4
    assert res.params == 4 * 4 * 4 + 4 * 4 * 8 * 4 + 4 * 4 * 8  # 704 instead of 16,384
    assert res.dense_params == 64 * 256
    assert 0.95 <= res.accuracy <= 1.0
    assert res.train_accuracy >= res.accuracy - 0.05
    assert res.seconds < 60  # about 1-3 s on two busy cores
    assert digits_accuracy().accuracy == res.accuracy  # deterministic for a seed


def test_quality_callable_reads_the_layer_record() -> None:
    _sklearn()
    record = {
        "layers": [
            {"name": "head", "format": "dense", "in_features": 256, "out_features": 10},
            {"name": "fc1", "format": "ttm", "in_shape": [4, 4, 4], "out_shape": [4, 8, 8], "ranks": [1, 1, 1, 1]},
        ]
    }
    accuracy = digits_quality(record)
    assert accuracy == digits_accuracy(ranks=1).accuracy
    assert 0.9 <= accuracy <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"fmt": "lora", "ranks": 4}, "format"),
        ({"fmt": "attention"}, "format"),
        ({"fmt": "nope"}, "format"),
        ({"in_shape": (4, 4, 3)}, "in_shape"),
        ({"ranks": [1, 2, 3]}, "ranks"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_bad_configuration(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(QualityError) as err:
        digits_accuracy(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
    assert "\n" not in str(err.value)


def test_quality_callable_needs_fc1() -> None:
    with pytest.raises(QualityError, match="model: a layer 'fc1'"):
        digits_quality({"layers": [{"name": "fc2", "format": "ttm"}]})


def test_missing_scikit_learn_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(QualityError, match=r"scikit-learn: .*pip install scikit-learn"):
        digits_accuracy(ranks=1, epochs=1)
