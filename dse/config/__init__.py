"""Study, workload and search-space YAML -> frozen, validated configuration objects.

* :mod:`~dse.config._params`: the parameter grammar of a space (fixed, choices, ranges);
* :mod:`~dse.config._space`: a search space (``search_spaces/*.yaml``) -> :class:`SpaceConfig`;
* :mod:`~dse.config._study`: a study file -> :class:`StudyConfig` (:func:`load_study_config`).

Every mistake is one :class:`~dse.ConfigError` naming the file, the field and what was expected,
raised before anything is written.
"""

from dse.config._model_space import LayerSpace
from dse.config._params import Categorical, Fixed, FloatRange, IntRange, ParamSpec, param_values, parse_param
from dse.config._quality import QualityConfig, QualityTable, load_callable
from dse.config._space import (
    HARDWARE_KEYS,
    SEARCHABLE_FORMATS,
    TEMPLATE_KEYS,
    SpaceConfig,
    extreme_values,
    hardware_of,
    parse_space,
)
from dse.config._study import (
    EXHAUSTIVE_LIMIT,
    MODES,
    ConstraintSpec,
    SamplerConfig,
    StudyConfig,
    load_study,
    load_study_config,
    parse_objectives,
)

__all__ = [
    "EXHAUSTIVE_LIMIT",
    "HARDWARE_KEYS",
    "MODES",
    "SEARCHABLE_FORMATS",
    "TEMPLATE_KEYS",
    "Categorical",
    "ConstraintSpec",
    "Fixed",
    "FloatRange",
    "IntRange",
    "LayerSpace",
    "ParamSpec",
    "QualityConfig",
    "QualityTable",
    "SamplerConfig",
    "SpaceConfig",
    "StudyConfig",
    "extreme_values",
    "hardware_of",
    "load_callable",
    "load_study",
    "load_study_config",
    "param_values",
    "parse_objectives",
    "parse_param",
    "parse_space",
]
