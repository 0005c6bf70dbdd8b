"""Spatial statistics as pure functions on arrays: no SQL, no Streamlit.

:mod:`.gistar` finds significant hot and cold spots (Getis-Ord Gi*) on an H3
grid; :mod:`.emerging` classifies how they change over time (ArcGIS's
Emerging Hot Spot Analysis). The queries that feed them live beside the map
layers (:mod:`layers.hotspot_stats`).
"""
