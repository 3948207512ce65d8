"""Model quality: how well a layer configuration can represent given weights (numpy only).

- :func:`weight_error` / :func:`weights_file_error`: the relative Frobenius error of the best
  approximation each layer format's own algorithm gives of a weight ``W[in_features,
  out_features]`` (truncated SVD, TT-SVD, HOSVD, TR-SVD + TR-ALS, CP-ALS), with the parameter
  count: *post-training fidelity*, not accuracy. :func:`approximate` returns the factors too,
  named as the format's networks name them.
- :func:`load_weight`, :func:`weight_keys`, :func:`read_tensor`: weights from ``.npz`` and
  ``.safetensors`` files without torch. PyTorch ``nn.Linear`` weights are ``[out, in]``: pass
  ``transpose=True``.
- :mod:`dse.quality.examples`: a smoke-test accuracy (a tiny tensorized MLP trained in numpy on
  scikit-learn's bundled digits; needs scikit-learn).

Errors are :class:`QualityError` (a :class:`~dse.DSEError`), one line naming the field.
"""

from dse.quality._errors import QualityError
from dse.quality._quality import (
    ALS_TOL,
    CP_MAX_ITERATIONS,
    QUALITY_FORMATS,
    TR_MAX_ITERATIONS,
    Approximation,
    QualityResult,
    approximate,
    weight_error,
    weights_file_error,
)
from dse.quality._weights import (
    SAFETENSORS_DTYPES,
    as_weight_matrix,
    load_weight,
    read_tensor,
    tensor_shape,
    weight_keys,
    weight_matrix_shape,
)

__all__ = [
    "ALS_TOL",
    "CP_MAX_ITERATIONS",
    "QUALITY_FORMATS",
    "SAFETENSORS_DTYPES",
    "TR_MAX_ITERATIONS",
    "Approximation",
    "QualityError",
    "QualityResult",
    "approximate",
    "as_weight_matrix",
    "load_weight",
    "read_tensor",
    "tensor_shape",
    "weight_error",
    "weight_keys",
    "weight_matrix_shape",
    "weights_file_error",
]
