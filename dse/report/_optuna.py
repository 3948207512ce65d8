"""optuna's parameter importances without the imports the dashboard does not need."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def _optuna_importance() -> ModuleType:
    """``optuna.importance``, imported without scikit-learn when it is not loaded yet: optuna
    imports it for two evaluators this module does not use (fANOVA and mean decrease impurity),
    ~1.5 s of a study's outputs; its default, PED-ANOVA, needs none. Those two stay unavailable
    in this process (they would say scikit-learn is missing); ``sklearn`` itself imports as
    usual afterwards."""
    if "optuna.importance" in sys.modules or "sklearn" in sys.modules:
        return importlib.import_module("optuna.importance")
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # (an import of it raises ImportError)
    try:
        return importlib.import_module("optuna.importance")
    finally:
        del sys.modules["sklearn"]
