"""Tensor networks: what one pass of one layer contracts."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from analytical_models import CachedHash, quick_init

ROLES: tuple[str, ...] = ("activation", "weight", "core", "gradient")
"""Role of an input tensor: a layer input, a dense weight, a tensor core, an incoming gradient."""

_LETTERS = string.ascii_letters


class WorkloadError(ValueError):
    """A layer or workload description is inconsistent (shapes, ranks, sizes)."""


@quick_init
@dataclass(frozen=True, slots=True)
class TensorNetwork(CachedHash):
    """A tensor network: inputs named by index tuples, one output, a size for every index.

    Index names are strings (``"b"``, ``"m1"``, ``"r2"``); :meth:`einsum` maps them to letters.
    A network is hashable and immutable, so it can key caches.

    Attributes:
        inputs: index tuple of every input tensor, in stored (row-major) order.
        output: index tuple of the result.
        sizes: ``(index, size)`` pairs, one per index, sorted by index name.
        names: name of every input tensor (``"x"``, ``"G1"``, ``"dy"``).
        roles: role of every input tensor, one of :data:`ROLES`.
        label: what this network computes, e.g. ``"forward"``, ``"dx"``, ``"dg2"``.
    """

    inputs: tuple[tuple[str, ...], ...]
    output: tuple[str, ...]
    sizes: tuple[tuple[str, int], ...]
    names: tuple[str, ...]
    roles: tuple[str, ...]
    label: str = ""

    __hash__ = CachedHash.__hash__

    @staticmethod
    def build(
        *,
        inputs: Sequence[Sequence[str]],
        output: Sequence[str],
        sizes: Mapping[str, int],
        names: Sequence[str],
        roles: Sequence[str],
        label: str = "",
    ) -> TensorNetwork:
        """Validate and build a network. Raises :class:`WorkloadError` on inconsistencies."""
        ins = tuple(tuple(t) for t in inputs)
        out = tuple(output)
        if len(ins) < 1:
            raise WorkloadError("a tensor network needs at least one input")
        if not (len(ins) == len(names) == len(roles)):
            raise WorkloadError("inputs, names and roles must have the same length")
        used = {i for t in ins for i in t} | set(out)
        missing = used - set(sizes)
        if missing:
            raise WorkloadError(f"indices without a size: {sorted(missing)}")
        for t in ins:
            if len(set(t)) != len(t):
                raise WorkloadError(f"repeated index within one tensor: {t}")
        if len(set(out)) != len(out):
            raise WorkloadError(f"repeated index in the output: {out}")
        if not set(out) <= {i for t in ins for i in t}:
            raise WorkloadError("every output index must appear in some input")
        for i in used:
            if int(sizes[i]) < 1:
                raise WorkloadError(f"index {i!r} has size {sizes[i]}; sizes must be >= 1")
        for r in roles:
            if r not in ROLES:
                raise WorkloadError(f"unknown tensor role {r!r}; expected one of {ROLES}")
        if len(used) > len(_LETTERS):
            raise WorkloadError(f"too many indices ({len(used)}) for an einsum expression")
        return TensorNetwork(
            inputs=ins,
            output=out,
            sizes=tuple(sorted((i, int(sizes[i])) for i in used)),
            names=tuple(names),
            roles=tuple(roles),
            label=label,
        )

    @property
    def size_dict(self) -> dict[str, int]:
        """Size of every index."""
        return dict(self.sizes)

    @property
    def n_inputs(self) -> int:
        """Number of input tensors."""
        return len(self.inputs)

    def shape(self, indices: Sequence[str]) -> tuple[int, ...]:
        """Shape of a tensor with these indices."""
        sd = self.size_dict
        return tuple(sd[i] for i in indices)

    def shapes(self) -> list[tuple[int, ...]]:
        """Shapes of the input tensors."""
        return [self.shape(t) for t in self.inputs]

    def elements(self, indices: Sequence[str]) -> int:
        """Number of elements of a tensor with these indices."""
        n = 1
        for s in self.shape(indices):
            n *= s
        return n

    def letters(self) -> dict[str, str]:
        """Map from index name to the single letter used in :meth:`einsum`."""
        return dict(_letters(self.inputs, self.output))

    def einsum(self) -> str:
        """The network as an einsum expression, e.g. ``"ab,bcd->acd"`` (cached by the index
        names: every pass record of a design carries it)."""
        return _einsum(self.inputs, self.output)

    def opt_einsum_form(self) -> tuple[list[frozenset[str]], frozenset[str], dict[str, int]]:
        """``(inputs, output, size_dict)`` as the path optimizers take them."""
        return [frozenset(t) for t in self.inputs], frozenset(self.output), self.size_dict

    def to_networkx(self) -> Any:
        """Undirected multigraph: one node per tensor (plus ``"output"``), one edge per index."""
        import networkx as nx

        g = nx.MultiGraph()
        for n, (name, role) in enumerate(zip(self.names, self.roles, strict=True)):
            g.add_node(n, name=name, role=role, indices=self.inputs[n])
        g.add_node("output", name="output", role="output", indices=self.output)
        holders: dict[str, list[int | str]] = {}
        for n, t in enumerate(self.inputs):
            for i in t:
                holders.setdefault(i, []).append(n)
        for i in self.output:
            holders.setdefault(i, []).append("output")
        sd = self.size_dict
        for i, nodes in holders.items():
            for a in range(len(nodes)):
                for b in range(a + 1, len(nodes)):
                    g.add_edge(nodes[a], nodes[b], key=i, index=i, size=sd[i])
        return g

    def random_operands(self, rng: np.random.Generator) -> list[np.ndarray]:
        """Random float64 inputs with the network's shapes (for numeric oracles)."""
        return [rng.standard_normal(s) for s in self.shapes()]

    def contract_einsum(self, operands: Sequence[np.ndarray]) -> np.ndarray:
        """The result by ``np.einsum`` of the whole network (the oracle)."""
        return np.asarray(np.einsum(self.einsum(), *operands, optimize=True))


@lru_cache(maxsize=4096)
def _letters(inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...]) -> Mapping[str, str]:
    """:meth:`TensorNetwork.letters` of a network with these input and output indices (shared:
    not to be changed), letters in order of first appearance."""
    order: dict[str, None] = {}
    for t in (*inputs, output):
        order.update(dict.fromkeys(t))
    return {i: _LETTERS[n] for n, i in enumerate(order)}


@lru_cache(maxsize=4096)
def _einsum(inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...]) -> str:
    """:meth:`TensorNetwork.einsum` of a network with these input and output indices."""
    lt = _letters(inputs, output)
    lhs = ",".join("".join(lt[i] for i in t) for t in inputs)
    return lhs + "->" + "".join(lt[i] for i in output)
