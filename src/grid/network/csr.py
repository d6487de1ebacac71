"""The walking network as a sparse matrix for ``scipy.sparse.csgraph``, built once per process.

Walking is undirected, so the matrix is symmetric. Of parallel edges between
the same two nodes only the shortest is kept: a shortest path never uses the
longer one. Self-loops are left out (they never shorten a path).

Zero-length edges (two nodes at the same place) are stored as explicit zeros,
which ``csgraph`` treats as edges of length 0. Do not call ``eliminate_zeros()``
on the matrix, and do not build it with arithmetic (``m + m.T``) that drops them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
from scipy.sparse import csr_matrix

__all__ = ["network_to_csr", "cached_csr", "clear_csr_cache"]

_CACHE_SIZE = 4
_cache: OrderedDict[Hashable, csr_matrix] = OrderedDict()
_lock = threading.Lock()


def network_to_csr(u: np.ndarray, v: np.ndarray, length_m: np.ndarray, n_nodes: int) -> csr_matrix:
    """Symmetric n_nodes x n_nodes matrix of edge lengths in metres (parallel edges: the minimum).

    Parameters
    ----------
    u, v : end nodes of each edge (0 .. n_nodes-1).
    length_m : edge lengths in metres, finite and >= 0.
    n_nodes : number of nodes (isolated nodes get empty rows).

    Raises
    ------
    ValueError
        If the arrays differ in length, a node is out of range or a length is negative or not finite.
    """
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    length_m = np.asarray(length_m, dtype=np.float64)
    if not len(u) == len(v) == len(length_m):
        raise ValueError(f"u, v and length_m differ in length ({len(u)}, {len(v)}, {len(length_m)}); "
                         "pass one value per edge")
    if len(u) and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n_nodes):
        raise ValueError(f"edge end nodes must be in 0..{n_nodes - 1}; pass n_nodes = number of nodes")
    if not np.all(np.isfinite(length_m) & (length_m >= 0)):
        raise ValueError("edge lengths must be finite and >= 0 metres; drop or repair the bad edges first")
    loop = u == v
    rows = np.concatenate([u[~loop], v[~loop]])
    cols = np.concatenate([v[~loop], u[~loop]])
    weights = np.concatenate([length_m[~loop], length_m[~loop]])
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = np.concatenate([[True], (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])])
    return csr_matrix((weights[first], (rows[first], cols[first])), shape=(n_nodes, n_nodes))


def cached_csr(key: Hashable, builder: Callable[[], csr_matrix]) -> csr_matrix:
    """The matrix cached under ``key``, built with ``builder()`` on first use (last 4 keys kept).

    Use a key that changes whenever the network does, e.g. ``(str(db_path), network_load_id)``.
    The cached matrix is shared: do not modify it in place.
    """
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    matrix = builder()
    with _lock:
        _cache[key] = matrix
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return matrix


def clear_csr_cache() -> None:
    """Forget every cached matrix."""
    with _lock:
        _cache.clear()
