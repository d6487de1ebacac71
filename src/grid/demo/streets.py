"""Assemble the demo street network: public street lines split at every junction, plus internal paths.

Public streets lie on axis-aligned plan lines. Their extent is given as
*intervals* (with OSM tags) and every point where something meets them as an
*attachment*; a line's nodes are its attachments in order, its edges the gaps
between consecutive nodes that an interval covers, and its ways the runs of
edges with the same tags. A public node is identified by its plan position on
the 0.1 m grid, so a crossing of two lines, or a compound gate meeting a
street, is one shared node by construction. Internal paths (compounds, parks,
alleys) have their own nodes and meet public streets only where they attach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Streets", "StreetNetwork"]

_OFFSET = 1 << 25
_SHIFT = 26
_LINE_SHIFT = 40


def _dm(values: np.ndarray | float) -> np.ndarray:
    return np.round(np.asarray(values, dtype=np.float64) * 10.0).astype(np.int64)


def _point_key(u_dm: np.ndarray, v_dm: np.ndarray) -> np.ndarray:
    return ((u_dm + _OFFSET) << _SHIFT) | (v_dm + _OFFSET)


def _key_to_plan(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u_dm = (keys >> _SHIFT) - _OFFSET
    v_dm = (keys & ((1 << _SHIFT) - 1)) - _OFFSET
    return u_dm / 10.0, v_dm / 10.0


@dataclass(frozen=True)
class StreetNetwork:
    """Nodes and ways ready to be written as OSM (ids from 1; plan coordinates in metres).

    ``way_nodes[way_offsets[i]:way_offsets[i + 1]]`` are the node ids of way ``i``;
    ``tags[t]`` is the tag dict of tag id ``t`` (``node_tag`` -1: no tags).
    """

    node_id: np.ndarray
    node_u: np.ndarray
    node_v: np.ndarray
    node_tag: np.ndarray
    way_id: np.ndarray
    way_tag: np.ndarray
    way_offsets: np.ndarray
    way_nodes: np.ndarray
    tags: tuple[dict[str, str], ...]


class Streets:
    """Collects intervals, attachments, internal nodes and ways; :meth:`build` assembles them."""

    def __init__(self) -> None:
        self._tags: list[dict[str, str]] = []
        self._tag_index: dict[tuple[tuple[str, str], ...], int] = {}
        self._intervals: list[tuple[int, int, int, int, int]] = []
        self._attach: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._internal: list[tuple[np.ndarray, np.ndarray]] = []
        self._n_internal = 0
        self._ways: list[np.ndarray] = []
        self._way_tags: list[int] = []
        self._pairs: list[tuple[np.ndarray, np.ndarray, int]] = []
        self._node_tags: dict[int, int] = {}

    def tag(self, **tags: str) -> int:
        """Id of a tag set (``highway='footway', name='...'``), registered once."""
        key = tuple(sorted((k, str(v)) for k, v in tags.items() if v is not None and v != ""))
        if key not in self._tag_index:
            self._tag_index[key] = len(self._tags)
            self._tags.append(dict(key))
        return self._tag_index[key]

    def interval(self, orient: int, coord: float, start: float, end: float, tag: int) -> None:
        """A public street on line (``orient`` 0: E-W at v=coord, 1: N-S at u=coord) from start to end."""
        start_dm, end_dm = sorted((int(_dm(start)), int(_dm(end))))
        self._intervals.append((orient, int(_dm(coord)), start_dm, end_dm, tag))
        self.attach(orient, coord, np.array([start, end]))

    def attach(self, orient: int, coord: float | np.ndarray, pos: np.ndarray | float) -> np.ndarray:
        """Attachment points on public lines; returns their node refs (keys >= 0)."""
        pos = np.atleast_1d(np.asarray(pos, dtype=np.float64))
        coord_dm = np.broadcast_to(_dm(coord), pos.shape).astype(np.int64)
        orient_arr = np.full(pos.shape, orient, dtype=np.int64)
        pos_dm = _dm(pos)
        self._attach.append((orient_arr, coord_dm, pos_dm))
        return _point_key(pos_dm, coord_dm) if orient == 0 else _point_key(coord_dm, pos_dm)

    def nodes(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """New internal nodes at plan (u, v); returns their refs (negative)."""
        u, v = np.atleast_1d(np.asarray(u, dtype=np.float64)), np.atleast_1d(np.asarray(v, dtype=np.float64))
        self._internal.append((u, v))
        refs = -(self._n_internal + 1 + np.arange(len(u), dtype=np.int64))
        self._n_internal += len(u)
        return refs

    def way(self, refs: np.ndarray, tag: int) -> None:
        """A way through ``refs`` (internal or public) with tag set ``tag``."""
        refs = np.asarray(refs, dtype=np.int64)
        if len(refs) >= 2:
            self._ways.append(refs)
            self._way_tags.append(tag)

    def pairs(self, a: np.ndarray, b: np.ndarray, tag: int) -> None:
        """Many two-node ways ``a[i] -> b[i]`` with one tag set (entrance spurs)."""
        if len(a):
            self._pairs.append((np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64), tag))

    def tag_node(self, ref: int, tag: int) -> None:
        """Give node ``ref`` the tag set ``tag`` (gates, level crossings)."""
        self._node_tags[int(ref)] = tag

    def _line_ways(self) -> tuple[list[np.ndarray], list[int]]:
        """Public ways: per line, runs of covered gaps between consecutive attachments with equal tags."""
        orient, coord, pos = (np.concatenate(parts) for parts in zip(*self._attach))
        lines, rank = np.unique((orient << _LINE_SHIFT) | (coord + _OFFSET), return_inverse=True)
        key = np.unique((rank.astype(np.int64) << 27) | (pos + _OFFSET))  # sorted by line, then position
        line, pos = lines[key >> 27], (key & ((1 << 27) - 1)) - _OFFSET
        same = line[1:] == line[:-1]
        a, b = np.flatnonzero(same), np.flatnonzero(same) + 1
        tag = self._cover(line[a], (pos[a] + pos[b]) // 2)
        keep = tag >= 0
        a, b, tag = a[keep], b[keep], tag[keep]
        new_run = np.ones(len(a), dtype=bool)
        new_run[1:] = (a[1:] != b[:-1]) | (tag[1:] != tag[:-1])
        starts = np.flatnonzero(new_run)
        ends = np.append(starts[1:], len(a))
        o, c = line >> _LINE_SHIFT, (line & ((1 << _LINE_SHIFT) - 1)) - _OFFSET
        keys = np.where(o == 0, _point_key(pos, c), _point_key(c, pos))
        ways = [np.append(keys[a[s:e]], keys[b[e - 1]]) for s, e in zip(starts, ends)]
        return ways, [int(t) for t in tag[starts]]

    def _cover(self, line: np.ndarray, mid: np.ndarray) -> np.ndarray:
        """Tag id of the interval covering each (line, position), -1 where none does.

        Intervals on one line do not overlap (duplicates are dropped); if they did,
        the one starting last before the position would decide.
        """
        iv = np.unique(np.array(self._intervals, dtype=np.int64), axis=0)
        iv_line = (iv[:, 0] << _LINE_SHIFT) | (iv[:, 1] + _OFFSET)
        lines = np.unique(iv_line)
        iv_rank = np.searchsorted(lines, iv_line)
        iv_key = (iv_rank << 27) | (iv[:, 2] + _OFFSET)
        order = np.argsort(iv_key, kind="stable")
        iv_key, iv, iv_rank = iv_key[order], iv[order], iv_rank[order]
        rank = np.minimum(np.searchsorted(lines, line), len(lines) - 1)
        idx = np.searchsorted(iv_key, (rank << 27) | (mid + _OFFSET), side="right") - 1
        safe = np.maximum(idx, 0)
        ok = (lines[rank] == line) & (idx >= 0) & (iv_rank[safe] == rank) & (iv[safe, 3] >= mid)
        return np.where(ok, iv[safe, 4], -1)

    def build(self) -> StreetNetwork:
        """Number the nodes used by ways (public first, by position; then internal) and the ways."""
        line_ways, line_tags = self._line_ways()
        ways, way_tags = line_ways + self._ways, line_tags + self._way_tags
        pair_a = np.concatenate([p[0] for p in self._pairs]) if self._pairs else np.empty(0, dtype=np.int64)
        pair_b = np.concatenate([p[1] for p in self._pairs]) if self._pairs else np.empty(0, dtype=np.int64)
        pair_tag = np.concatenate([np.full(len(p[0]), p[2]) for p in self._pairs]) if self._pairs else pair_a
        lengths = np.concatenate([[len(w) for w in ways], np.full(len(pair_a), 2)]).astype(np.int64)
        flat = np.concatenate(ways + [np.stack([pair_a, pair_b], axis=1).ravel()])
        way_tags = np.concatenate([np.array(way_tags, dtype=np.int64), pair_tag.astype(np.int64)])
        refs = np.unique(flat)  # internal (negative, most negative first), then public keys ascending
        n_int = int(np.searchsorted(refs, 0))
        n_pub = len(refs) - n_int
        ids = np.empty(len(refs), dtype=np.int64)
        ids[n_int:] = np.arange(1, n_pub + 1)
        ids[:n_int] = n_pub + np.arange(n_int, 0, -1)
        u_pub, v_pub = _key_to_plan(refs[n_int:])
        iu, iv = ((np.concatenate(p) for p in zip(*self._internal)) if self._internal
                  else (np.empty(0), np.empty(0)))
        internal_index = -refs[:n_int][::-1] - 1
        node_tag = np.full(len(refs), -1, dtype=np.int64)
        if self._node_tags:
            tagged = np.fromiter(self._node_tags, dtype=np.int64)
            rank = np.minimum(np.searchsorted(refs, tagged), len(refs) - 1)
            ok = refs[rank] == tagged
            node_tag[ids[rank[ok]] - 1] = np.fromiter(self._node_tags.values(), dtype=np.int64)[ok]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return StreetNetwork(node_id=np.arange(1, len(refs) + 1, dtype=np.int64),
                             node_u=np.concatenate([u_pub, iu[internal_index]]),
                             node_v=np.concatenate([v_pub, iv[internal_index]]), node_tag=node_tag,
                             way_id=np.arange(1, len(lengths) + 1, dtype=np.int64),
                             way_tag=way_tags, way_offsets=offsets,
                             way_nodes=ids[np.searchsorted(refs, flat)], tags=tuple(self._tags))
