"""TNN-DSE: joint design-space exploration of tensorized neural networks and their accelerators."""

from dse._errors import ConfigError, DSEError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DSEError", "__version__"]
