"""The ``contraction_engine`` engine: a reconfigurable contraction array (FETTA-like).

Distribution and reduction networks let the array run any of WS / OS / IS per operation,
whatever ``Hardware.dataflows`` says, and re-lay-out tensors on the fly while they stream in,
so tensor shaping costs nothing (``shaping_cycles == 0``, no extra traffic). Timing and memory
follow the same model as :mod:`analytical_models.systolic` (:mod:`analytical_models._engine`).
"""

from __future__ import annotations

from analytical_models._engine import ArrayEngine
from analytical_models._registry import register_engine
from analytical_models._types import DATAFLOWS, Hardware


class ContractionEngine(ArrayEngine):
    """Reconfigurable array: every dataflow, free tensor shaping."""

    name: str = "contraction_engine"
    shaping_free: bool = True

    def dataflows_for(self, hw: Hardware) -> tuple[str, ...]:
        """All of WS / OS / IS, regardless of ``hw.dataflows``."""
        return DATAFLOWS


CONTRACTION_ENGINE = ContractionEngine()
register_engine(CONTRACTION_ENGINE.name, CONTRACTION_ENGINE)
