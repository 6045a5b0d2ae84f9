"""sreops: command line and local sandbox."""
