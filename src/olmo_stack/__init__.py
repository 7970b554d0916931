"""olmo-stack: the five packages composed."""

__version__ = "0.1.0"
