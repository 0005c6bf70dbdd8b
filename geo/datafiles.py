"""Where propmap's data files are: ``data/`` in the checkout, ``propmap.data`` when installed.

Reference lists, the city outline and the intake tables are data a city edits
(``data/reference``, ``data/intake``). The wheel carries them as the package
``propmap.data`` (``pyproject.toml`` maps ``data/`` there), and an editable
install maps the checkout's ``data/`` to the same name, so code finds them the
same way wherever propmap runs: through :func:`path`, never a path built from
``__file__``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: The package that holds the data files.
PACKAGE = "propmap.data"


def path(*parts: str) -> Path:
    """The file or directory ``parts`` below the data package, e.g. ``path("reference")``.

    propmap is installed as files (a wheel unpacked by pip, or an editable
    install), so the package's resources are plain paths on disk.
    """
    root = resources.files(PACKAGE)
    if not isinstance(root, Path):  # a zipped install: not how pip installs a wheel
        raise RuntimeError(f"{PACKAGE} is not on the file system ({root!r}); reinstall with pip")
    return root.joinpath(*parts)
