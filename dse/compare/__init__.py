"""Co-design evidence: a design against its baselines, every ratio from two evaluations.

* :mod:`~dse.compare._evidence`: the comparisons of ``dse compare`` (:func:`compare_design`),
  their rows, summaries and text tables;
* :mod:`~dse.compare._baselines`: the baseline designs (dense model, MAC-optimal paths) and the
  dashboard's baseline table;
* :mod:`~dse.compare._reuse`: the training reuse schedule;
* :mod:`~dse.compare._dense_search`: the dense model's own best hardware, searched with the
  study machinery.

Pure computation and studies; drawing lives in :mod:`dse.report`.
"""

from dse.compare._baselines import (
    BaselineInfo,
    baseline_info,
    baseline_numbers,
    dense_design,
    dense_workload,
    fill_baselines,
    mac_optimal_design,
    ratio,
    spread,
)
from dse.compare._dense_search import DENSE_DIR, DENSE_TRIALS, DenseBest, dense_base, dense_search
from dse.compare._evidence import (
    COMPARISONS,
    CSV_COLUMNS,
    METRICS,
    ComparisonRow,
    Measure,
    RatioSummary,
    best_versus_best,
    compare_design,
    format_summary,
    format_table,
    measure,
    rows_frame,
    summarize,
)
from dse.compare._reuse import ReuseTraining, price_reuse_training, step_kb

__all__ = [
    "COMPARISONS",
    "CSV_COLUMNS",
    "DENSE_DIR",
    "DENSE_TRIALS",
    "METRICS",
    "BaselineInfo",
    "ComparisonRow",
    "DenseBest",
    "Measure",
    "RatioSummary",
    "ReuseTraining",
    "baseline_info",
    "baseline_numbers",
    "best_versus_best",
    "compare_design",
    "dense_base",
    "dense_design",
    "dense_search",
    "dense_workload",
    "fill_baselines",
    "format_summary",
    "format_table",
    "mac_optimal_design",
    "measure",
    "price_reuse_training",
    "ratio",
    "rows_frame",
    "spread",
    "step_kb",
    "summarize",
]
