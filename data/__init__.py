"""propmap's data files: reference lists (``reference/``) and intake tables (``intake/``).

Installed as the package ``propmap.data``; read them through :func:`geo.datafiles.path`.
"""
