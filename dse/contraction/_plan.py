"""Contraction plans: a path with the lowering, MACs and (optionally) the cost of every step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast

import numpy as np

from analytical_models import CachedHash, Cost, Gemm, Hardware, Mapping, Objective, best_mapping, quick_init
from dse.contraction._costs import (
    HardwareCost,
    StepObjective,
    bytes_moved_cost,
    hardware_cost,
    mac_cost,
)
from dse.contraction._lowering import Lowered, canonical_order, lower_canonical
from dse.contraction._optimizers import get_path_fn
from dse.contraction._types import SSAPath, StepCost
from dse.contraction.trees import PathError, left_to_right_path, ssa_to_nodes
from dse.workload import TensorNetwork

CostKind = Literal["macs", "bytes", "latency", "energy"]
COST_KINDS: tuple[str, ...] = ("macs", "bytes", "latency", "energy")


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class PlanStep:
    """One pairwise step of a plan.

    Attributes:
        lhs: SSA id of the first operand.
        rhs: SSA id of the second operand.
        result: SSA id of the result.
        lhs_indices: indices of the first operand (its stored order for an input, canonical
            order for an intermediate).
        rhs_indices: indices of the second operand.
        out_indices: indices of the result, canonical order.
        macs: multiply-accumulates of the step.
        lowered: the step as a batched GEMM.
        mapping: best mapping of the GEMM on the plan's hardware, None when unpriced.
        cost: cost of the step under that mapping, None when unpriced.
    """

    lhs: int
    rhs: int
    result: int
    lhs_indices: tuple[str, ...]
    rhs_indices: tuple[str, ...]
    out_indices: tuple[str, ...]
    macs: int
    lowered: Lowered
    mapping: Mapping | None = None
    cost: Cost | None = None

    @property
    def gemm(self) -> Gemm:
        """The lowered GEMM."""
        return self.lowered.gemm


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class ContractionPlan(CachedHash):
    """A network, a path over it, and every step lowered (and priced when a hardware is given)."""

    network: TensorNetwork
    path: SSAPath
    steps: tuple[PlanStep, ...]
    hw: Hardware | None = None
    objective: str = "latency"

    __hash__ = CachedHash.__hash__

    @property
    def macs(self) -> int:
        """Total MACs."""
        return sum(s.macs for s in self.steps)

    @property
    def peak_elements(self) -> int:
        """Elements of the largest intermediate (the final result excluded; 0 if none)."""
        shapes = (self.network.shape(s.out_indices) for s in self.steps[:-1])
        return max((math.prod(sh) for sh in shapes), default=0)

    @property
    def live_peak_elements(self) -> int:
        """Most elements alive at once: unconsumed inputs + intermediates + the step's result.

        Tensors are freed right after the step that consumes them (the working-set size a
        buffer would need to hold the whole contraction on chip).
        """
        net = self.network
        live = {t: net.elements(idx) for t, idx in enumerate(net.inputs)}
        peak = sum(live.values())
        for s in self.steps:
            out = net.elements(s.out_indices)
            peak = max(peak, sum(live.values()) + out)
            del live[s.lhs], live[s.rhs]
            live[s.result] = out
        return peak

    @property
    def cost(self) -> Cost | None:
        """Sum of the step costs, None when the plan is unpriced."""
        if self.hw is None:
            return None
        total = Cost()
        for s in self.steps:
            if s.cost is None:
                return None
            total = total + s.cost
        return total

    @property
    def cycles(self) -> float | None:
        """Total latency in cycles, None when unpriced."""
        c = self.cost
        return None if c is None else c.cycles

    @property
    def energy_pj(self) -> float | None:
        """Total energy in pJ, None when unpriced."""
        c = self.cost
        return None if c is None else c.energy_pj

    @property
    def naive_macs(self) -> int:
        """MACs of the left-to-right sweep ``((0, 1), (n, 2), ...)`` over the same network."""
        return _naive_macs(self.network)

    @property
    def gemms(self) -> tuple[Gemm, ...]:
        """The lowered GEMM of every step."""
        return tuple(s.gemm for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary: path, MACs, largest intermediate, GEMMs, cycles / pJ when priced."""
        out: dict[str, Any] = {
            "path": [list(p) for p in self.path],
            "macs": self.macs,
            "peak_elements": self.peak_elements,
            "gemms": [
                {
                    "batch": g.batch,
                    "m": g.m,
                    "n": g.n,
                    "k": g.k,
                    "permute_elements": g.permute_a_elements + g.permute_b_elements + g.permute_c_elements,
                }
                for g in self.gemms
            ],
        }
        cost = self.cost
        if cost is not None:
            out["cycles"] = cost.cycles
            out["energy_pj"] = cost.energy_pj
        return out

    def describe(self) -> str:
        """A printable summary: einsum, path, MACs, largest intermediate, per-step GEMMs."""
        net = self.network
        lines = [
            f"{net.label or 'network'}: {net.einsum()}",
            f"  path: {list(self.path)}",
            f"  MACs: {self.macs:,}   left-to-right: {self.naive_macs:,}   "
            f"largest intermediate: {self.peak_elements:,} elements",
        ]
        if self.cost is not None:
            c = self.cost
            lines.append(f"  cycles: {c.cycles:,.0f}   energy: {c.energy_pj:,.0f} pJ")
        for s in self.steps:
            g = s.gemm
            lines.append(
                f"  {s.result} = {s.lhs} x {s.rhs}: "
                f"({','.join(s.lhs_indices)}) x ({','.join(s.rhs_indices)}) -> "
                f"({','.join(s.out_indices)})  batch={g.batch} m={g.m} n={g.n} k={g.k} "
                f"macs={s.macs:,}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


@lru_cache(maxsize=4096)
def _naive_macs(network: TensorNetwork) -> int:
    return build_plan(network, left_to_right_path(network.n_inputs)).macs


def _kept_indices(network: TensorNetwork, mask: int) -> tuple[str, ...]:
    return _kept(network.inputs, network.output, mask)


@lru_cache(maxsize=65_536)
def _kept(inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...], mask: int) -> tuple[str, ...]:
    """Indices of the inputs ``mask`` that the rest of the network (or its output) still needs,
    canonical order. Cached by index names: layers of one format share them whatever their
    sizes."""
    inside: set[str] = set()
    rest: set[str] = set(output)
    for t, idx in enumerate(inputs):
        (inside if mask >> t & 1 else rest).update(idx)
    return canonical_order(inside & rest)


def _held(inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...], mask: int) -> tuple[str, ...]:
    """Indices of the tensor holding the inputs ``mask``: an input's own (stored order), or the
    kept indices of an intermediate (canonical order)."""
    if mask & (mask - 1) == 0:
        return inputs[mask.bit_length() - 1]
    return _kept(inputs, output, mask)


@lru_cache(maxsize=16_384)
def _merge(
    network: TensorNetwork, a: int, b: int
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], Lowered, int]:
    """The step merging the tensors of input subsets ``a`` and ``b``: its operands' and result's
    indices, its lowering and its MACs (the same in every tree that makes it; cached)."""
    li, ri, out, lt, rt, kept, used = _merge_names(network.inputs, network.output, a, b)
    sizes = network.size_dict
    lowered = lower_canonical(lt, rt, kept, sizes)
    return li, ri, out, lowered, math.prod(sizes[x] for x in used)  # (step_macs)


Names = tuple[str, ...]


@lru_cache(maxsize=65_536)  # networks of one format and pass share it, whatever their sizes
def _merge_names(
    inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...], a: int, b: int
) -> tuple[Names, Names, Names, Names, Names, frozenset[str], Names]:
    """What :func:`_merge` takes from the index names alone: the operands' and the result's
    indices, the operands in canonical order, the result as a set (checked to be in the
    operands) and the step's indices (canonical order)."""
    li, ri = _held(inputs, output, a), _held(inputs, output, b)
    out = _kept(inputs, output, a | b)
    lt, rt = canonical_order(li), canonical_order(ri)
    kept = frozenset(out)
    if not kept <= set(lt) | set(rt):
        raise PathError(f"kept indices {sorted(kept - set(lt) - set(rt))} are in no operand")
    return li, ri, out, lt, rt, kept, canonical_order((*li, *ri))


def merge_gemm(network: TensorNetwork, a: int, b: int) -> tuple[Gemm, int]:
    """The lowered GEMM and the MACs of the step merging the tensors of input subsets ``a`` and
    ``b`` (bitmasks over the network's inputs): the same in every tree that makes it (cached)."""
    _, _, _, lowered, macs = _merge(network, a, b)
    return lowered.gemm, macs


def step_gemms(network: TensorNetwork, path: Sequence[Sequence[int]]) -> tuple[tuple[Gemm, int], ...]:
    """The lowered GEMM and the MACs of every step of ``path``, in step order: what
    :func:`build_plan` lowers, without building the plan (from the same per-merge cache).

    Raises:
        PathError: when ``path`` is not a valid SSA path over the network's inputs.
    """
    return tuple(merge_gemm(network, a, b) for a, b in ssa_to_nodes(path, network.n_inputs))


def step_lowerings(
    network: TensorNetwork, path: Sequence[Sequence[int]]
) -> tuple[tuple[int, int, tuple[str, ...], Lowered], ...]:
    """``(lhs, rhs, result indices, lowering)`` of every step of ``path``: what :func:`build_plan`
    puts in each :class:`PlanStep` (from the same per-merge cache), without building the plan.

    Raises:
        PathError: when ``path`` is not a valid SSA path over the network's inputs.
    """
    nodes = ssa_to_nodes(path, network.n_inputs)
    return tuple(
        (int(i), int(j), got[2], got[3])
        for (i, j), got in zip(path, (_merge(network, a, b) for a, b in nodes), strict=True)
    )


def build_plan(
    network: TensorNetwork,
    path: Sequence[Sequence[int]],
    hw: Hardware | None = None,
    objective: Objective = "latency",
) -> ContractionPlan:
    """Lower every step of ``path`` and, when ``hw`` is given, price it with its best mapping.

    ``objective`` is what each step's mapping minimises (``latency``, ``energy`` or ``edp``).

    Raises:
        PathError: when ``path`` is not a valid SSA path over the network's inputs.
    """
    if hw is None and isinstance(path, tuple):
        key = _path_key(path)
        if key is not None:
            return _unpriced_plan(network, key, objective)
    return _build_plan(network, path, hw, objective)


def _path_key(path: tuple[Sequence[int], ...]) -> SSAPath | None:
    """``path`` itself when it is a tuple of pairs of ints (a cache key), else None."""
    for step in path:
        if type(step) is not tuple or len(step) != 2 or type(step[0]) is not int or type(step[1]) is not int:
            return None
    return cast(SSAPath, path)


@lru_cache(maxsize=4096)  # the MAC-optimal plan of a network and its scheduled winner are often one tree
def _unpriced_plan(network: TensorNetwork, path: SSAPath, objective: Objective) -> ContractionPlan:
    return _build_plan(network, path, None, objective)


def _build_plan(
    network: TensorNetwork, path: Sequence[Sequence[int]], hw: Hardware | None, objective: Objective
) -> ContractionPlan:
    n = network.n_inputs
    nodes = ssa_to_nodes(path, n)
    steps: list[PlanStep] = []
    for s, ((i, j), (a, b)) in enumerate(zip(path, nodes, strict=True)):
        li, ri, out, lowered, macs = _merge(network, a, b)
        mapping: Mapping | None = None
        cost: Cost | None = None
        if hw is not None:
            result = best_mapping(lowered.gemm, hw, objective)
            mapping, cost = result.mapping, result.cost
        steps.append(
            PlanStep(
                lhs=int(i),
                rhs=int(j),
                result=n + s,
                lhs_indices=li,
                rhs_indices=ri,
                out_indices=out,
                macs=macs,
                lowered=lowered,
                mapping=mapping,
                cost=cost,
            )
        )
    return ContractionPlan(
        network=network,
        path=tuple((int(i), int(j)) for i, j in path),
        steps=tuple(steps),
        hw=hw,
        objective=objective,
    )


def resolve_cost(cost: str | StepCost, hw: Hardware | None) -> StepCost:
    """The step cost named ``cost`` (``macs``, ``bytes``, ``latency``, ``energy``), or ``cost``.

    Raises:
        PathError: for an unknown name, or ``latency`` / ``energy`` without a hardware.
    """
    if not isinstance(cost, str):
        return cost
    if cost == "macs":
        return mac_cost
    if cost == "bytes":
        return bytes_moved_cost(hw.bytes_per_element if hw is not None else 1.0)
    if cost in ("latency", "energy"):
        if hw is None:
            raise PathError(f"cost {cost!r} needs a hardware (hw=...)")
        return hardware_cost(hw, "latency" if cost == "latency" else "energy")
    raise PathError(f"unknown cost {cost!r}; expected one of {COST_KINDS} or a StepCost")


@lru_cache(maxsize=16_384)
def _optimize_cached(
    network: TensorNetwork,
    optimizer: str,
    step_cost: StepCost,
    hw: Hardware | None,
    objective: StepObjective,
    memory_limit: int | None,
) -> ContractionPlan:
    return _optimize(network, optimizer, step_cost, hw, objective, memory_limit)


def _optimize(
    network: TensorNetwork,
    optimizer: str,
    step_cost: StepCost,
    hw: Hardware | None,
    objective: StepObjective,
    memory_limit: int | None,
) -> ContractionPlan:
    return build_plan(network, _path_of(network, optimizer, step_cost, memory_limit), hw, objective)


def _path_of(network: TensorNetwork, optimizer: str, step_cost: StepCost, memory_limit: int | None) -> SSAPath:
    fn = get_path_fn(optimizer)
    inputs, output, sizes = network.opt_einsum_form()
    path = fn(inputs, output, sizes, memory_limit, cost=step_cost)
    ssa_to_nodes(path, network.n_inputs)  # (raises PathError, as build_plan does, for an invalid path)
    return tuple((int(i), int(j)) for i, j in path)


def optimize_path(
    network: TensorNetwork,
    *,
    optimizer: str = "dp",
    cost: str | StepCost = "macs",
    hw: Hardware | None = None,
    memory_limit: int | None = None,
) -> SSAPath:
    """The path of :func:`optimize_network` (the same arguments), without building its plan or
    pricing its steps (for a caller that needs the tree only, e.g. to schedule it).

    Raises:
        PathError: unknown optimizer or cost, or no path within ``memory_limit``.
    """
    step_cost = resolve_cost(cost, hw)
    try:
        hash(step_cost)
    except TypeError:
        return _path_of(network, optimizer, step_cost, memory_limit)
    return _path_cached(network, optimizer, step_cost, memory_limit)


@lru_cache(maxsize=16_384)
def _path_cached(network: TensorNetwork, optimizer: str, step_cost: StepCost, memory_limit: int | None) -> SSAPath:
    return _path_of(network, optimizer, step_cost, memory_limit)


def optimize_network(
    network: TensorNetwork,
    *,
    optimizer: str = "dp",
    cost: str | StepCost = "macs",
    hw: Hardware | None = None,
    memory_limit: int | None = None,
) -> ContractionPlan:
    """Best path of ``network`` for ``cost`` by ``optimizer``, as a plan (priced when ``hw`` given).

    Results are cached by value (network, optimizer, cost, hardware, memory limit): studies call
    this with the same layers across trials.

    Args:
        network: the tensor network.
        optimizer: a registered path optimizer (``exhaustive``, ``dp``, ``greedy``, ...).
        cost: ``macs``, ``bytes``, ``latency`` (cycles on ``hw``), ``energy`` (pJ on ``hw``), or
            any :data:`StepCost`.
        hw: hardware; when given every step of the plan is priced (objective ``energy`` when
            ``cost == "energy"``, else ``latency``).
        memory_limit: maximum elements of any intermediate.

    Raises:
        PathError: unknown optimizer or cost, or no path within ``memory_limit``.
    """
    step_cost = resolve_cost(cost, hw)
    energy = isinstance(step_cost, HardwareCost) and step_cost.objective == "energy"
    objective: StepObjective = "energy" if energy else "latency"
    try:
        hash(step_cost)
    except TypeError:
        return _optimize(network, optimizer, step_cost, hw, objective, memory_limit)
    return _optimize_cached(network, optimizer, step_cost, hw, objective, memory_limit)


def execute_path(
    network: TensorNetwork,
    path: Sequence[Sequence[int]],
    operands: Sequence[np.ndarray],
) -> np.ndarray:
    """Contract ``operands`` pairwise along ``path`` with ``np.einsum`` (the numeric oracle).

    Intermediates are laid out in canonical index order; the result in the network's output order.
    """
    n = network.n_inputs
    if len(operands) != n:
        raise PathError(f"{n} operands expected, got {len(operands)}")
    nodes = ssa_to_nodes(path, n)
    letters = network.letters()
    tensors: dict[int, tuple[np.ndarray, tuple[str, ...]]] = {
        t: (np.asarray(op), network.inputs[t]) for t, op in enumerate(operands)
    }

    def spec(idx: tuple[str, ...]) -> str:
        return "".join(letters[i] for i in idx)

    for s, ((i, j), (a, b)) in enumerate(zip(path, nodes, strict=True)):
        (x, xi), (y, yi) = tensors.pop(int(i)), tensors.pop(int(j))
        out = _kept_indices(network, a | b)
        tensors[n + s] = (np.einsum(f"{spec(xi)},{spec(yi)}->{spec(out)}", x, y), out)
    ((result, ridx),) = tensors.values()
    final: np.ndarray = np.einsum(f"{spec(ridx)}->{spec(network.output)}", result)
    return final


def execute_plan(plan: ContractionPlan, operands: Sequence[np.ndarray]) -> np.ndarray:
    """Run every step of ``plan`` as its lowered batched GEMM (the numeric oracle of the lowering).

    Inputs are first put in canonical order (the layout rule); each step then applies the
    lowering's ``a_permutation`` / ``b_permutation``, reshapes to ``(batch, m, k)`` and
    ``(batch, k, n)``, multiplies with ``np.matmul`` and applies ``c_permutation``. An index held
    by one operand only and not kept is summed out of that operand first (the GEMM's ``k`` then
    counts only the shared reduction). The result is in the network's output order.
    """
    net = plan.network
    if len(operands) != net.n_inputs:
        raise PathError(f"{net.n_inputs} operands expected, got {len(operands)}")
    sizes = net.size_dict
    tensors: dict[int, np.ndarray] = {}
    for t, (op, idx) in enumerate(zip(operands, net.inputs, strict=True)):
        canon = canonical_order(idx)
        tensors[t] = np.transpose(np.asarray(op), [idx.index(i) for i in canon])
    for step in plan.steps:
        low = step.lowered
        x, y = tensors.pop(step.lhs), tensors.pop(step.rhs)
        a, b = (x, y) if low.a_is_lhs else (y, x)
        a_idx, b_idx = low.a_indices, low.b_indices
        only = [i for i in low.k_indices if (i in a_idx) != (i in b_idx)]
        if only:  # sum single-operand indices out first, then regroup what is left
            a, a_idx = _sum_out(a, a_idx, only), tuple(i for i in a_idx if i not in only)
            b, b_idx = _sum_out(b, b_idx, only), tuple(i for i in b_idx if i not in only)
            k_idx = tuple(i for i in low.k_indices if i not in only)
            a_perm = tuple(a_idx.index(i) for i in (*low.batch_indices, *low.m_indices, *k_idx))
            b_perm = tuple(b_idx.index(i) for i in (*low.batch_indices, *k_idx, *low.n_indices))
        else:
            k_idx, a_perm, b_perm = low.k_indices, low.a_permutation, low.b_permutation
        g = low.gemm
        k = math.prod(sizes[i] for i in k_idx)
        a3 = np.transpose(a, a_perm).reshape(g.batch, g.m, k)
        b3 = np.transpose(b, b_perm).reshape(g.batch, k, g.n)
        c_idx = (*low.batch_indices, *low.m_indices, *low.n_indices)
        c = np.matmul(a3, b3).reshape([sizes[i] for i in c_idx])
        tensors[step.result] = np.transpose(c, low.c_permutation)
    (result,) = tensors.values()
    last = plan.steps[-1].out_indices if plan.steps else canonical_order(net.inputs[0])
    if not plan.steps:  # a single input: sum out what the output does not keep
        result = _sum_out(result, last, [i for i in last if i not in net.output])
        last = tuple(i for i in last if i in net.output)
    final: np.ndarray = np.transpose(result, [last.index(i) for i in net.output])
    return final


def _sum_out(arr: np.ndarray, idx: tuple[str, ...], drop: Sequence[str]) -> np.ndarray:
    axes = tuple(p for p, i in enumerate(idx) if i in drop)
    out: np.ndarray = arr.sum(axis=axes) if axes else arr
    return out
