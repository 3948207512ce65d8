"""Types shared by the path optimizers, the lowering and the plans."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

SSAPath = tuple[tuple[int, int], ...]
"""A contraction path in static-single-assignment form.

Inputs are ids ``0 .. n-1``; the result of step ``s`` gets id ``n + s``. Every id is used
exactly once; the last step produces the network's output.
"""

StepCost = Callable[[frozenset[str], frozenset[str], frozenset[str], Mapping[str, int]], float]
"""Price of one pairwise step ``(lhs indices, rhs indices, kept indices, sizes) -> cost``.

``kept`` are the indices of the step's result (those still needed by another tensor or by the
network's output). Costs are additive over steps; the unit is the cost's own (MACs, cycles, pJ).
"""


class PathFn(Protocol):
    """Signature every path optimizer has (opt_einsum's, plus a step cost)."""

    def __call__(
        self,
        inputs: list[frozenset[str]],
        output: frozenset[str],
        size_dict: dict[str, int],
        memory_limit: int | None = None,
        *,
        cost: StepCost | None = None,
    ) -> SSAPath:
        """Return a path; ``memory_limit`` bounds the elements of any intermediate."""
        ...
