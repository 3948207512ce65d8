"""Make ``import analytical_models`` resolve to the package, not to this test folder.

``tests/conftest.py`` puts ``tests/`` on ``sys.path`` (pytest's default import mode), where this
folder would shadow the editable-installed package as a namespace package. Putting the
repository root first restores the real one.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
_HERE = str(Path(__file__).resolve().parent)  # for the oracle helper am_loopnest_sim
if sys.path[:1] != [_ROOT]:
    sys.path.insert(0, _ROOT)
if _HERE not in sys.path:
    sys.path.append(_HERE)
_shadow = sys.modules.get("analytical_models")
if _shadow is not None and getattr(_shadow, "__file__", None) is None:
    del sys.modules["analytical_models"]
