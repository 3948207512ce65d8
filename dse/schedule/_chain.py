"""A contraction plan seen as a chain of on-chip-schedulable steps.

Every tensor of a plan (the network's inputs, then one intermediate per step, the last one being
the pass's output) either carries the token index ``b`` (:data:`TOKEN_INDEX`: the activations,
their gradients and every intermediate derived from them) or not (cores and merges of cores).
A token tile of ``t`` of the ``B`` tokens scales every token-carrying tensor by ``t / B``.

Steps fall in four kinds:

``token``
    the result carries ``b``: runs once per token tile, on that tile;
``reduce``
    an operand carries ``b`` and the result does not (a weight gradient summed over the tokens):
    runs once per tile and accumulates its result on chip across the tiles;
``core``
    no operand carries ``b`` and none comes from a reduce step: a batch-independent merge of
    cores ("core partitioning"), stored once or recomputed per tile;
``post``
    token-free but downstream of a reduce step: runs once, after the last tile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from analytical_models import CachedHash, Gemm, quick_init
from dse.contraction import ACTIVATION_INDEX, ContractionPlan, Lowered, step_lowerings
from dse.workload import TensorNetwork

TOKEN_INDEX = ACTIVATION_INDEX
"""The index that counts tokens (batch x sequence positions) in every network."""

STEP_KINDS: tuple[str, ...] = ("token", "reduce", "core", "post")


@quick_init
@dataclass(frozen=True, slots=True)
class ChainStep:
    """One step of a chain.

    Attributes:
        lhs: SSA id of the first operand.
        rhs: SSA id of the second operand.
        out: SSA id of the result.
        gemm: the lowered GEMM over every token.
        a_is_lhs: operand A of the GEMM is ``lhs``.
        token_dim: the GEMM dimension holding the token index (``batch``, ``m``, ``n``, ``k``),
            ``""`` for a token-free step.
        kind: one of :data:`STEP_KINDS`.
    """

    lhs: int
    rhs: int
    out: int
    gemm: Gemm
    a_is_lhs: bool
    token_dim: str
    kind: str

    @property
    def operands(self) -> tuple[int, int]:
        """``(A, B)`` SSA ids."""
        return (self.lhs, self.rhs) if self.a_is_lhs else (self.rhs, self.lhs)


@quick_init
@dataclass(frozen=True, slots=True)
class Chain(CachedHash):
    """The steps of one plan with what a schedule needs to know about every tensor.

    Attributes:
        n_inputs: network inputs (SSA ids ``0 .. n_inputs - 1``).
        tokens: size of the token index (1 when the network has none).
        elements: elements of every tensor (SSA id) over all tokens.
        tokened: whether each tensor carries the token index.
        names: tensor names (inputs by name, intermediates ``t<id>``).
        steps: the steps in plan order.
    """

    n_inputs: int
    tokens: int
    elements: tuple[int, ...]
    tokened: tuple[bool, ...]
    names: tuple[str, ...]
    steps: tuple[ChainStep, ...]
    consumers: tuple[int, ...] = field(default=(), compare=False, repr=False)
    """The step consuming each step's result (-1 for the last): the tree's shape. Derived from
    ``steps`` when the chain is made (not compared, not hashed)."""

    __hash__ = CachedHash.__hash__

    def __post_init__(self) -> None:
        if len(self.consumers) != len(self.steps):
            by_operand: dict[int, int] = {}
            for s, step in enumerate(self.steps):
                by_operand.setdefault(step.lhs, s)
                by_operand.setdefault(step.rhs, s)
            object.__setattr__(self, "consumers", tuple(by_operand.get(step.out, -1) for step in self.steps))

    @property
    def output(self) -> int:
        """SSA id of the pass's result."""
        return self.n_inputs + len(self.steps) - 1

    @property
    def intermediates(self) -> tuple[int, ...]:
        """SSA ids of the intermediates (every step result but the last)."""
        return tuple(range(self.n_inputs, self.output))

    def producer(self, ssa: int) -> int | None:
        """Index of the step producing ``ssa`` (None for an input)."""
        return None if ssa < self.n_inputs else ssa - self.n_inputs

    def segment(self, steps: tuple[int, ...]) -> Chain:
        """The steps ``steps`` (plan order) as a chain of their own: the tensors they read from
        outside become its inputs (in id order), their results its intermediates. Two segments
        doing the same work compare equal, whatever tree they come from (a cache key). Cached:
        a segment recurs in many spill sets of one tree."""
        return _segment(self, steps)

    def _cut(self, steps: tuple[int, ...]) -> Chain:
        outs = [self.steps[s].out for s in steps]
        inside = set(outs)
        external = sorted({x for s in steps for x in (self.steps[s].lhs, self.steps[s].rhs)} - inside)
        ids = {x: i for i, x in enumerate(external)}
        for o in outs:
            ids[o] = len(ids)
        order = external + outs
        return Chain(
            n_inputs=len(external),
            tokens=self.tokens,
            elements=tuple(self.elements[x] for x in order),
            tokened=tuple(self.tokened[x] for x in order),
            names=tuple(self.names[x] for x in order),
            steps=tuple(
                ChainStep(
                    lhs=ids[self.steps[s].lhs],
                    rhs=ids[self.steps[s].rhs],
                    out=ids[self.steps[s].out],
                    gemm=self.steps[s].gemm,
                    a_is_lhs=self.steps[s].a_is_lhs,
                    token_dim=self.steps[s].token_dim,
                    kind=self.steps[s].kind,
                )
                for s in steps
            ),
        )


@lru_cache(maxsize=8192)  # hits come from the spill sets of one tree: a short memory
def _segment(chain: Chain, steps: tuple[int, ...]) -> Chain:
    return chain._cut(steps)


@lru_cache(maxsize=16_384)  # an entry keeps its plan alive: 65k entries held 70 MB more, for no speed
def chain_of(plan: ContractionPlan) -> Chain:
    """The chain of a (priced or unpriced) plan; cached by value."""
    return _build(plan.network, tuple((ps.lhs, ps.rhs, ps.out_indices, ps.lowered) for ps in plan.steps))


@lru_cache(maxsize=16_384)
def chain_of_path(network: TensorNetwork, path: tuple[tuple[int, int], ...]) -> Chain:
    """``chain_of(build_plan(network, path))`` without building the plan (its steps'
    lowerings from :func:`dse.contraction.step_lowerings`); cached by value."""
    return _build(network, step_lowerings(network, path))


def _build(network: TensorNetwork, steps_in: tuple[tuple[int, int, tuple[str, ...], Lowered], ...]) -> Chain:
    """The chain of the steps ``(lhs, rhs, result indices, lowering)`` over ``network``."""
    sizes = network.size_dict
    tokens = int(sizes.get(TOKEN_INDEX, 1))
    indices: list[tuple[str, ...]] = list(network.inputs) + [out for _, _, out, _ in steps_in]
    return assemble_chain(
        network,
        tuple(math.prod(sizes[i] for i in idx) for idx in indices),
        tuple(TOKEN_INDEX in idx for idx in indices),
        [
            (lhs, rhs, lowered.gemm, lowered.a_is_lhs, lowered.activation_dim if tokens > 1 else "")
            for lhs, rhs, _, lowered in steps_in
        ],
    )


def assemble_chain(
    network: TensorNetwork,
    elements: tuple[int, ...],
    tokened: tuple[bool, ...],
    steps_in: list[tuple[int, int, Gemm, bool, str]],
    consumers: tuple[int, ...] = (),
) -> Chain:
    """The chain over ``network`` of the steps ``(lhs, rhs, GEMM, a_is_lhs, token_dim)``, given
    the elements of every tensor (inputs, then each step's result) and whether each holds the
    token index: each step's kind follows from them (:data:`STEP_KINDS`). ``consumers``: the
    chain's :attr:`Chain.consumers` when the caller knows them (derived otherwise)."""
    n = network.n_inputs
    after_reduce: set[int] = set()
    steps: list[ChainStep] = []
    for s, (lhs, rhs, gemm, a_is_lhs, token_dim) in enumerate(steps_in):
        out = n + s
        if tokened[out]:
            kind = "token"
        elif tokened[lhs] or tokened[rhs]:
            kind = "reduce"
            after_reduce.add(out)
        elif lhs in after_reduce or rhs in after_reduce:
            kind = "post"
            after_reduce.add(out)
        else:
            kind = "core"
        steps.append(ChainStep(lhs, rhs, out, gemm, a_is_lhs, token_dim, kind))
    return Chain(
        n,
        int(network.size_dict.get(TOKEN_INDEX, 1)),
        elements,
        tokened,
        _tensor_names(network.names, len(steps)),
        tuple(steps),
        consumers,
    )


@lru_cache(maxsize=1024)
def _tensor_names(inputs: tuple[str, ...], n_steps: int) -> tuple[str, ...]:
    """Names of a chain's tensors: the inputs', then ``t<id>`` for each step's result."""
    n = len(inputs)
    return inputs + tuple(f"t{n + s}" for s in range(n_steps))
