"""Contraction trees, path optimizers (MACs, bytes or any hardware cost) and their lowering.

A path optimizer turns a tensor network into an SSA contraction path; a plan lowers every
pairwise step to a batched GEMM and prices it on a hardware with ``analytical_models``.
"""

from dse.contraction._costs import (
    STEP_OBJECTIVES,
    BytesMovedCost,
    HardwareCost,
    MacCost,
    StepObjective,
    bytes_moved_cost,
    hardware_cost,
    mac_cost,
    peak_elements,
    step_macs,
)
from dse.contraction._lowering import (
    ACTIVATION_INDEX,
    Lowered,
    canonical_order,
    index_sort_key,
    lower_step,
)
from dse.contraction._optimizers import (
    DP_MAX_INPUTS,
    EXHAUSTIVE_MAX_INPUTS,
    PATH_OPTIMIZERS,
    dp,
    dp_connected,
    exhaustive,
    get_path_fn,
    greedy,
    mac_optimal,
    path_fn_names,
    register_path_fn,
)
from dse.contraction._plan import (
    COST_KINDS,
    ContractionPlan,
    PlanStep,
    build_plan,
    execute_path,
    execute_plan,
    optimize_network,
    resolve_cost,
    step_gemms,
)
from dse.contraction._training import TrainingMACs, training_macs
from dse.contraction._types import PathFn, SSAPath, StepCost
from dse.contraction.trees import (
    PathError,
    count_trees,
    enumerate_trees,
    left_to_right_path,
    ssa_to_nodes,
    ssa_to_tree,
)

__all__ = [
    "ACTIVATION_INDEX",
    "COST_KINDS",
    "DP_MAX_INPUTS",
    "EXHAUSTIVE_MAX_INPUTS",
    "PATH_OPTIMIZERS",
    "STEP_OBJECTIVES",
    "BytesMovedCost",
    "ContractionPlan",
    "HardwareCost",
    "Lowered",
    "MacCost",
    "PathError",
    "PathFn",
    "PlanStep",
    "SSAPath",
    "StepCost",
    "StepObjective",
    "TrainingMACs",
    "build_plan",
    "bytes_moved_cost",
    "canonical_order",
    "count_trees",
    "dp",
    "dp_connected",
    "enumerate_trees",
    "execute_path",
    "execute_plan",
    "exhaustive",
    "get_path_fn",
    "greedy",
    "hardware_cost",
    "index_sort_key",
    "left_to_right_path",
    "lower_step",
    "mac_cost",
    "mac_optimal",
    "optimize_network",
    "path_fn_names",
    "peak_elements",
    "register_path_fn",
    "resolve_cost",
    "ssa_to_nodes",
    "ssa_to_tree",
    "step_gemms",
    "step_macs",
    "training_macs",
]
