"""The street network for walking: walkable filter, graph building, sparse matrix.

A pure core: arrays and frames in, arrays and frames out; no database. Storing
and reading the network back is in :mod:`grid.ingest.network`.

>>> net = network_from_osm("city.osm.pbf")                     # doctest: +SKIP
>>> graph = network_to_csr(net.edge_u, net.edge_v, net.edge_length_m, net.n_nodes)  # doctest: +SKIP
"""

from grid.network.build import Network, Ways, local_metric_crs, network_from_ways, network_summary
from grid.network.csr import cached_csr, clear_csr_cache, network_to_csr
from grid.network.lines import LINE_SUFFIXES, network_from_lines, read_line_ways
from grid.network.osm import (OSM_SUFFIXES, REASONS, WalkableRules, is_osm_path, load_walkable_rules,
                              network_from_osm, read_osm_ways, walkable_reasons, walkable_rules_path)

__all__ = [
    "Network", "Ways", "WalkableRules", "OSM_SUFFIXES", "LINE_SUFFIXES", "REASONS",
    "network_from_osm", "network_from_lines", "network_from_ways", "read_osm_ways", "read_line_ways",
    "load_walkable_rules", "walkable_rules_path", "walkable_reasons", "is_osm_path",
    "local_metric_crs", "network_summary", "network_to_csr", "cached_csr", "clear_csr_cache",
]
