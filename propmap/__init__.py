"""propmap: 凯里市物业管理一张图. The ``propmap`` command lives in :mod:`propmap.cli`."""

__version__ = "0.1.0"
