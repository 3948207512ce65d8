"""Execution schedules of one layer pass: fused segments, token tiles, core merges.

Today's per-step model prices every pairwise step of a contraction tree as a GEMM that reads its
operands from DRAM and writes its result back. Every TNN accelerator since 2019 keeps a layer's
intermediates on chip instead. A schedule says which intermediates spill (the rest stay on
chip: fused segments), streams the tokens through each fused segment in tiles, and stores or
recomputes the batch-independent merges of cores; the search picks the best one (and the best
contraction tree under it).

* :mod:`~dse.schedule._chain`: a plan as a chain of token / reduce / core / post steps;
* :mod:`~dse.schedule._segment`: one fused segment (traffic, capacity, latency, energy), every
  way it may run priced in one compiled call (:mod:`~dse.schedule._price_kernel`, reading what
  :mod:`~dse.schedule._segment_inputs` gathers of the segment and the hardware);
* :mod:`~dse.schedule._bounds`: lower bounds of steps, segments, spill sets and trees;
* :mod:`~dse.schedule._set_bounds`: a tree's spill sets and their bounds in one compiled call;
* :mod:`~dse.schedule._search`: spill sets, execution modes (:data:`EXECUTIONS`);
* :mod:`~dse.schedule._tree_tables`: a network's merges as tables its trees share;
* :mod:`~dse.schedule._merge_table`: every merge's step, bound terms and fold times at once, a
  tree's spill-set bounds and chain read from them;
* :mod:`~dse.schedule._trees`: trees x schedules (which trees are priced, in what order).
"""

from dse.schedule._chain import STEP_KINDS, TOKEN_INDEX, Chain, ChainStep, chain_of
from dse.schedule._search import (
    EXECUTIONS,
    Schedule,
    ScheduleError,
    Segment,
    compulsory_bytes,
    schedule_plan,
)
from dse.schedule._segment import SegmentResult, price_segment, tile_candidates
from dse.schedule._tree_tables import ENUMERATED_TREE_INPUTS, tree_macs
from dse.schedule._trees import (
    TREE_LIMIT,
    best_scheduled_plan,
    candidate_paths,
    others_may_beat,
    with_first_path,
)

__all__ = [
    "ENUMERATED_TREE_INPUTS",
    "EXECUTIONS",
    "STEP_KINDS",
    "TOKEN_INDEX",
    "TREE_LIMIT",
    "Chain",
    "ChainStep",
    "Schedule",
    "ScheduleError",
    "Segment",
    "SegmentResult",
    "best_scheduled_plan",
    "candidate_paths",
    "chain_of",
    "compulsory_bytes",
    "others_may_beat",
    "price_segment",
    "schedule_plan",
    "tile_candidates",
    "tree_macs",
    "with_first_path",
]
