"""open-instruct."""

__version__ = "0.1.0"
