"""MACs of one training step of a layer: passes contracted independently vs. with reuse.

**Independent**: forward, ``dx`` and every ``dg_k`` network contracted separately, each by its
MAC-optimal path.

**Reuse schedule** (reverse mode over the forward contraction tree). Contract the forward network
``[x, W_1, .., W_d] -> y`` along its MAC-optimal tree and keep every intermediate (the partial
products of ``x`` with cores and of cores with cores). Then walk the tree from the root down:
for a node ``V = L x R`` with incoming gradient ``dV`` (``dV = dy`` at the root), compute
``dL = dV x R`` and ``dR = dV x L``. Every leaf gets its gradient: ``dx`` and every ``dG_k``.
Because ``L`` keeps exactly the indices it shares with the rest of the network,
``idx(dV) | idx(R) == idx(L) | idx(R)``: each backward step contracts the same index set as its
forward step, so the whole training step costs exactly **3x the forward MACs** (the counts below
are computed step by step from the index sets, not assumed). The forward intermediates are the
memory price of this reuse.

For reference, :attr:`TrainingMACs.sweep` is the classic TT schedule: the left-to-right sweep
``x G_1 G_2 .. G_d`` with its partial products kept, then the right-to-left sweep of ``dy``
(ending in ``dx``) and ``dG_k`` from the two partial products around core ``k``: 3x the sweep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dse.contraction._plan import optimize_network
from dse.contraction._types import SSAPath
from dse.contraction.trees import ssa_to_nodes
from dse.workload import LayerSpec, TensorNetwork, get_format


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingMACs:
    """MACs of one training step (forward + input gradient + every weight gradient).

    Attributes:
        forward: MAC-optimal forward network.
        dx: MAC-optimal input-gradient network.
        dg: MAC-optimal weight-gradient network of every core / weight, in order.
        independent: ``forward + dx + sum(dg)``.
        reuse: reverse mode over the forward tree: ``reuse_forward + reuse_backward``.
        reuse_forward: MACs of the forward tree (equal to ``forward``).
        reuse_backward: MACs of the gradient steps (two per forward step).
        reuse_path: SSA path of the forward tree the schedule differentiates.
        sweep: the left-to-right sweep schedule's total (3x the sweep's forward MACs).
    """

    forward: int
    dx: int
    dg: tuple[int, ...]
    independent: int
    reuse: int
    reuse_forward: int
    reuse_backward: int
    reuse_path: SSAPath
    sweep: int

    @property
    def saving(self) -> float:
        """``independent / reuse`` (>= 1 when the schedule helps)."""
        return self.independent / self.reuse if self.reuse else 1.0


def _prod(indices: set[str] | frozenset[str], sizes: dict[str, int]) -> int:
    return math.prod(sizes[i] for i in indices)


def _sweep(net: TensorNetwork) -> int:
    """Total MACs of the left-to-right sweep schedule (forward, backward and weight gradients)."""
    sizes = net.size_dict
    x, y = set(net.inputs[0]), set(net.output)
    ws = [set(t) for t in net.inputs[1:]]
    d = len(ws)
    total = 0
    z = set(x)
    zs: list[set[str]] = []
    for t in range(d):
        zs.append(z)
        total += _prod(z | ws[t], sizes)
        z = (z | ws[t]) & set(y).union(*ws[t + 1 :])
    b = set(y)
    for t in range(d - 1, -1, -1):
        total += _prod(zs[t] | b, sizes)  # dG_t from the two partial products
        total += _prod(b | ws[t], sizes)  # next backward partial product
        b = (b | ws[t]) & set(x).union(*ws[:t])
    return total


def _reverse_mode(net: TensorNetwork, path: SSAPath) -> tuple[int, int]:
    """(forward, backward) MACs of reverse mode over the tree ``path``."""
    inputs, output, sizes = net.opt_einsum_form()
    n = net.n_inputs
    full = (1 << n) - 1
    holders: dict[str, int] = {}
    for t, idx in enumerate(inputs):
        for i in idx:
            holders[i] = holders.get(i, 0) | (1 << t)

    def kept(mask: int) -> frozenset[str]:
        return frozenset(i for i, h in holders.items() if h & mask and (h & (full ^ mask) or i in output))

    fwd = bwd = 0
    for a, b in ssa_to_nodes(path, n):
        ka, kb, kv = kept(a), kept(b), kept(a | b)
        fwd += _prod(ka | kb, sizes)
        bwd += _prod(kv | kb, sizes) + _prod(kv | ka, sizes)  # dL = dV x R, dR = dV x L
    return fwd, bwd


def training_macs(spec: LayerSpec) -> TrainingMACs:
    """Exact MACs of one training step of ``spec``, independent and with the reuse schedule."""
    nets = get_format(spec.format).networks(spec)
    plans = [optimize_network(net, optimizer="dp", cost="macs") for net in nets]
    best = [p.macs for p in plans]
    forward, dx, dg = best[0], best[1], tuple(best[2:])
    fwd_path = plans[0].path
    reuse_fwd, reuse_bwd = _reverse_mode(nets[0], fwd_path)
    return TrainingMACs(
        forward=forward,
        dx=dx,
        dg=dg,
        independent=sum(best),
        reuse=reuse_fwd + reuse_bwd,
        reuse_forward=reuse_fwd,
        reuse_backward=reuse_bwd,
        reuse_path=fwd_path,
        sweep=_sweep(nets[0]),
    )
