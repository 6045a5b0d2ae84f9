"""sreops: command line and local sandbox."""

__version__ = "0.1.0"
