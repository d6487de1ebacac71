"""Tests of grid.governance.hotspots: Gi* against esda, planted clusters, null fields, BH, chains, rates."""

from __future__ import annotations

import math

import h3.api.basic_int as h3i
import libpysal
import numpy as np
import pandas as pd
import pytest
from esda.getisord import G_Local
from scipy import stats

from grid.governance.hotspots import (
    benjamini_hochberg,
    getis_ord_gi_star,
    rate_per,
    rate_ratio,
    repeat_places,
)

RES = 9
CENTRE = h3i.latlng_to_cell(30.53, 114.29, RES)  # Wuhan
AREA = np.array(sorted(h3i.grid_disk(CENTRE, 25)), dtype=np.uint64)  # 1,951 res-9 cells


# --------------------------------------------------------------------------- Gi*: independent reference


def _neighbours_without_self(cells: np.ndarray, k: int) -> dict[int, list[int]]:
    """Position -> positions of study-area cells in h3-py's grid_disk(c, k), self left out (esda adds it)."""
    pos = {int(c): i for i, c in enumerate(cells)}
    return {i: [pos[n] for n in h3i.grid_disk(int(c), k) if n in pos and n != int(c)] for i, c in enumerate(cells)}


@pytest.mark.parametrize("k", [1, 2])
def test_gi_star_equals_esda_on_an_irregular_area(k: int) -> None:
    rng = np.random.default_rng(7)
    cells = np.array(sorted(h3i.grid_disk(CENTRE, 10)), dtype=np.uint64)  # 331 cells
    cells = cells[rng.random(cells.size) < 0.8]  # holes and ragged edges: windows cut by the area
    cells = rng.permutation(cells)  # input order need not be sorted
    y = rng.poisson(4, cells.size).astype(float)
    w = libpysal.weights.W(_neighbours_without_self(cells, k), silence_warnings=True)
    assert w.id_order == list(range(cells.size))
    reference = G_Local(y, w, transform="B", star=True, permutations=0)  # star=True adds the unit diagonal

    normal = getis_ord_gi_star(cells, y, k=k, method="normal")
    count = getis_ord_gi_star(cells, y, k=k)  # method="count": same z, other p

    assert normal["h3"].to_numpy().tolist() == cells.tolist()
    np.testing.assert_allclose(normal["z"].to_numpy(), reference.Zs, rtol=0, atol=1e-8)
    np.testing.assert_allclose(count["z"].to_numpy(), reference.Zs, rtol=0, atol=1e-8)
    # esda's analytical p is p_norm = norm.sf(|Zs|), one-sided (esda 2.9 getisord.py; p_z_sim needs permutations)
    np.testing.assert_allclose(normal["p"].to_numpy(), 2 * reference.p_norm, rtol=0, atol=1e-12)
    assert normal["neighbours"].tolist() == [len(v) + 1 for v in w.neighbors.values()]
    assert count["neighbours"].tolist() == normal["neighbours"].tolist()


def _seven_cells() -> np.ndarray:
    """CENTRE and its first ring: each ring cell's window is self, centre and 2 ring neighbours (4 cells)."""
    return np.array([CENTRE, *h3i.grid_ring(CENTRE, 1)], dtype=np.uint64)


def test_gi_star_on_a_hand_computed_seven_cell_area() -> None:
    counts = np.array([7.0, 0, 0, 0, 0, 0, 0])
    # Ring cell: window = self, centre, 2 ring neighbours (W = S1 = 4); n = 7, mean 1, S = sqrt(49/7 - 1) = sqrt(6).
    # z = (7 - 1 * 4) / (sqrt(6) * sqrt((7 * 4 - 16) / 6)) = 3 / sqrt(12) = sqrt(3) / 2.
    # Centre: window = the whole area (n S1 - W^2 = 0), so z is undefined.
    for method in ("count", "normal"):
        result = getis_ord_gi_star(_seven_cells(), counts, method=method)
        assert result["neighbours"].tolist() == [7, 4, 4, 4, 4, 4, 4]
        assert math.isnan(result["z"].iloc[0]) and math.isnan(result["p"].iloc[0]) and math.isnan(result["q"].iloc[0])
        np.testing.assert_allclose(result["z"].iloc[1:], math.sqrt(3) / 2, rtol=1e-12)
        assert not result["hotspot"].any() and not result["coldspot"].any()
    np.testing.assert_allclose(result["p"].iloc[1:], 2 * (1 - 0.5 * math.erfc(-math.sqrt(3) / 2 / math.sqrt(2))))


def test_count_p_is_the_exact_poisson_tail_when_counts_are_underdispersed() -> None:
    counts = np.array([3.0, 1, 1, 1, 1, 1, 1])
    # mean m = 9/7; sample variance ((12/7)^2 + 6 (2/7)^2) / 6 = 4/7 <= m: Poisson model.
    # Ring cell: window sum s = 1 + 3 + 1 + 1 = 6 over 4 cells, S ~ Poisson(4 m = 36/7).
    # hot = P(S >= 6) = 1 - sum_{j<=5} e^-mu mu^j / j! = 0.409089; cold = P(S <= 6) = 0.741010; p = 2 hot.
    mu = 36 / 7
    hot = 1 - sum(math.exp(-mu) * mu**j / math.factorial(j) for j in range(6))
    assert hot == pytest.approx(0.4090893, abs=1e-7)
    assert hot == pytest.approx(stats.poisson.sf(5, mu), rel=1e-12)

    result = getis_ord_gi_star(_seven_cells(), counts)

    assert math.isnan(result["p"].iloc[0])  # the centre's window is the whole area
    np.testing.assert_allclose(result["p"].iloc[1:], 2 * hot, rtol=1e-12)
    assert (result["z"].iloc[1:] > 0).all()


def test_count_p_is_the_exact_negative_binomial_tail_when_counts_are_overdispersed() -> None:
    counts = np.array([7.0, 0, 0, 0, 0, 0, 0])
    # m = 1, sample variance (36 + 6) / 6 = 7 > m: size r = m^2 / (v - m) = 1/6, prob = r / (r + m) = 1/7.
    # Ring cell: s = 7 over 4 cells, S ~ NB(size R = 4 r = 2/3, prob 1/7),
    # P(S = j) = Gamma(j + R) / (Gamma(R) j!) prob^R (1 - prob)^j; hot = P(S >= 7) = 0.210607, p = 2 hot.
    size, prob = 2 / 3, 1 / 7

    def pmf(j: int) -> float:
        return math.exp(math.lgamma(j + size) - math.lgamma(size) - math.lgamma(j + 1)) * prob**size * (1 - prob) ** j

    hot = 1 - sum(pmf(j) for j in range(7))
    assert hot == pytest.approx(0.2106068, abs=1e-7)

    result = getis_ord_gi_star(_seven_cells(), counts)

    np.testing.assert_allclose(result["p"].iloc[1:], 2 * hot, rtol=1e-10)


def test_constant_field_has_no_z_and_no_spots() -> None:
    for method in ("count", "normal"):
        result = getis_ord_gi_star(AREA[:200], np.full(200, 3.0), method=method)
        assert result["z"].isna().all() and result["p"].isna().all() and result["q"].isna().all()
        assert not result["hotspot"].any() and not result["coldspot"].any()


def test_gi_star_refuses_bad_input_with_the_fix() -> None:
    with pytest.raises(ValueError, match="appears 2 times; aggregate counts per cell first"):
        getis_ord_gi_star(np.r_[AREA[:3], AREA[:1]], np.ones(4))
    with pytest.raises(ValueError, match="cells has 3 values but counts has 2"):
        getis_ord_gi_star(AREA[:3], np.ones(2))
    with pytest.raises(ValueError, match=r"counts must be finite and >= 0; got -1.0 at row 1"):
        getis_ord_gi_star(AREA[:3], np.array([1.0, -1.0, 2.0]))
    with pytest.raises(ValueError, match=r"mix H3 resolutions \[8, 9\]"):
        getis_ord_gi_star(np.r_[AREA[:2], np.uint64(h3i.cell_to_parent(int(AREA[0]), 8))], np.ones(3))
    with pytest.raises(ValueError, match=r"cells\[1\] = 0 is not a valid H3 cell"):
        getis_ord_gi_star(np.array([AREA[0], 0], dtype=np.uint64), np.ones(2))
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        getis_ord_gi_star(AREA[:3], np.ones(3), k=0)
    with pytest.raises(ValueError, match=r"method must be one of \['count', 'normal'\]; got 'poisson'"):
        getis_ord_gi_star(AREA[:3], np.ones(3), method="poisson")


def test_count_method_refuses_fractional_values_and_points_to_normal() -> None:
    rates = np.array([1.0, 2.5, 0.25, 3.0])
    message = (r"method='count' needs whole-number counts; got 2.5 at row 1 \(2 such rows\); "
               r"use method='normal' for values that are not counts")
    with pytest.raises(ValueError, match=message):
        getis_ord_gi_star(AREA[:4], rates)
    assert getis_ord_gi_star(AREA[:4], rates, method="normal")["count"].tolist() == rates.tolist()


# --------------------------------------------------------------------------- Gi*: planted cluster and null fields


@pytest.mark.parametrize("method", ["count", "normal"])
def test_planted_cluster_is_found_and_little_else(method: str) -> None:
    rng = np.random.default_rng(2024)
    cluster_centre = h3i.grid_ring(CENTRE, 8)[0]  # 17 rings from the area's edge
    cluster = set(h3i.grid_disk(cluster_centre, 1))
    in_cluster = np.isin(AREA, np.array(sorted(cluster), dtype=np.uint64))
    counts = rng.poisson(np.where(in_cluster, 12.0, 2.0)).astype(float)

    result = getis_ord_gi_star(AREA, counts, method=method)

    row = result.loc[result["h3"] == cluster_centre].iloc[0]
    assert row["hotspot"] and row["q"] <= 0.05 and row["z"] > 5
    rings = np.array([h3i.grid_distance(cluster_centre, int(c)) for c in AREA])
    far_flagged = int((result["hotspot"] | result["coldspot"])[rings > 3].sum())
    assert far_flagged <= 2, f"{far_flagged} cells flagged more than 3 rings from the cluster"
    assert result["hotspot"][in_cluster].sum() >= 4  # most of the cluster, not only its centre


def _uniform_fields(model: str, seeds: range) -> list[np.ndarray]:
    """Counts on AREA with no clustering: Poisson(3), or negative binomial with mean 3 and size 2 (variance 7.5)."""
    if model == "poisson":
        return [np.random.default_rng(s).poisson(3, AREA.size).astype(float) for s in seeds]
    return [np.random.default_rng(s).negative_binomial(2, 2 / (2 + 3), AREA.size).astype(float) for s in seeds]


@pytest.mark.parametrize("model", ["poisson", "negative_binomial"])
def test_uniform_fields_rarely_show_a_spot_with_count_p(model: str) -> None:
    """Under the complete null, BH's FDR is the chance of any discovery, so it should stay at most alpha.

    Measured at k=1 (about 21 complaints per window), share of fields with any hotspot or coldspot at
    alpha 0.05, method "count" against "normal": seeds 0..99 here, Poisson 0.02 against 0.13 and
    negative binomial 0.03 against 0.52; seeds 10,000..10,599, Poisson 0.020 against 0.165 and
    negative binomial 0.013 against 0.572. Share of all cells with p <= 0.05 here, "count": 0.036
    (Poisson) and 0.041 (negative binomial); p <= 0.001: 0.00062 and 0.00066 ("normal": 0.0014
    and 0.0034, the far tail BH works in).
    """
    fields = _uniform_fields(model, range(100))
    runs = [getis_ord_gi_star(AREA, counts) for counts in fields]
    any_spot = np.mean([(r["hotspot"] | r["coldspot"]).any() for r in runs])
    assert any_spot <= 0.10, any_spot
    p = np.concatenate([r["p"].to_numpy() for r in runs])
    assert np.mean(p <= 0.05) <= 0.05 and np.mean(p <= 0.001) <= 0.001  # each cell's test holds its level


def test_normal_p_finds_spots_in_overdispersed_uniform_fields() -> None:
    """The failure "count" fixes, so the test above has teeth: normal p on the same NB fields (0.52 measured)."""
    fields = _uniform_fields("negative_binomial", range(100))
    runs = [getis_ord_gi_star(AREA, counts, method="normal") for counts in fields]
    assert np.mean([r["hotspot"].any() for r in runs]) >= 0.30


# --------------------------------------------------------------------------- Benjamini-Hochberg


def test_benjamini_hochberg_hand_computed() -> None:
    # sorted p 0.005, 0.01, 0.03, 0.04 (m = 4): m p / rank = 0.02, 0.02, 0.04, 0.04
    np.testing.assert_allclose(benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.005])), [0.02, 0.04, 0.04, 0.02])
    # monotone: 2 * 0.04 / 1 = 0.08 is lowered to the next adjusted value 0.045
    np.testing.assert_allclose(benjamini_hochberg(np.array([0.045, 0.04])), [0.045, 0.045])
    # NaN left out of m: the same as the two-value case
    np.testing.assert_allclose(benjamini_hochberg(np.array([0.045, np.nan, 0.04])), [0.045, np.nan, 0.045])
    assert benjamini_hochberg(np.array([])).shape == (0,)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]; got 1.5 at position 1"):
        benjamini_hochberg(np.array([0.2, 1.5]))


def _mixed_p_values() -> np.ndarray:
    """300 null p-values, 30 small ones and the edge values 0 and 1, shuffled."""
    rng = np.random.default_rng(3)
    return rng.permutation(np.concatenate([rng.uniform(size=300), rng.uniform(0, 1e-3, size=30), [1.0, 1.0, 0.0]]))


def test_benjamini_hochberg_equals_scipy() -> None:
    p = _mixed_p_values()
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q, stats.false_discovery_control(p, method="bh"), rtol=1e-12)
    assert q.max() <= 1.0 and np.all(np.diff(q[np.argsort(p)]) >= 0)


def test_benjamini_hochberg_equals_statsmodels() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = _mixed_p_values()
    np.testing.assert_allclose(benjamini_hochberg(p), multitest.multipletests(p, method="fdr_bh")[1], rtol=1e-12)


# --------------------------------------------------------------------------- repeat places


def _complaints() -> pd.DataFrame:
    a, b = int(AREA[0]), int(AREA[1])
    rows = [  # (id, cell, category, day of 2024)
        (1, a, "noise", "2024-01-01"), (2, a, "noise", "2024-01-20"), (3, a, "noise", "2024-02-19"),  # gaps 19, 30
        (4, a, "noise", "2024-03-21"), (5, a, "noise", "2024-03-25"), (6, a, "noise", "2024-04-01"),  # 31-day gap: new chain
        (7, a, "refuse", "2024-01-02"), (8, a, "refuse", "2024-01-03"),  # same cell, other category: own chain of 2
        (9, b, "noise", "2024-01-05"), (10, b, "noise", "2024-01-06"), (11, b, "noise", "2024-01-07"),
        (12, b, "noise", "2024-01-08"),
        (13, a, "noise", None),  # no time: left out
    ]
    frame = pd.DataFrame(rows, columns=["complaint_id", "h3", "category", "received_at"])
    frame["h3"] = frame["h3"].astype(np.uint64)
    frame["received_at"] = pd.to_datetime(frame["received_at"]).dt.tz_localize("Asia/Shanghai")
    return frame.sample(frac=1.0, random_state=5)  # shuffled: order must not matter


def test_repeat_places_chains_split_by_long_gaps_and_categories() -> None:
    chains = repeat_places(_complaints(), window_days=30, min_count=3)
    assert chains.columns.tolist() == ["h3", "category", "complaints", "first_at", "last_at", "complaint_ids"]
    assert chains["complaint_ids"].tolist() == [[9, 10, 11, 12], [1, 2, 3], [4, 5, 6]]
    assert chains["h3"].tolist() == [int(AREA[1]), int(AREA[0]), int(AREA[0])]
    assert chains["h3"].dtype == np.uint64 and chains["complaints"].tolist() == [4, 3, 3]
    assert chains["first_at"].iloc[1] == pd.Timestamp("2024-01-01", tz="Asia/Shanghai")
    assert chains["last_at"].iloc[2] == pd.Timestamp("2024-04-01", tz="Asia/Shanghai")


def test_repeat_places_window_and_min_count() -> None:
    wide = repeat_places(_complaints(), window_days=31, min_count=3)  # the 31-day gap now joins: one chain of 6
    assert sorted(map(sorted, wide["complaint_ids"])) == [[1, 2, 3, 4, 5, 6], [9, 10, 11, 12]]
    pairs = repeat_places(_complaints(), window_days=30, min_count=2)
    assert [7, 8] in pairs["complaint_ids"].tolist() and len(pairs) == 4
    assert repeat_places(_complaints().iloc[:0], min_count=3).empty


def test_repeat_places_refuses_bad_columns() -> None:
    with pytest.raises(ValueError, match=r"frame lacks columns \['category'\]"):
        repeat_places(_complaints().drop(columns="category"))
    text_times = _complaints().assign(received_at=lambda f: f["received_at"].astype(str))
    with pytest.raises(ValueError, match=r"received_at has dtype (str|object), not datetime; convert it with pd.to_datetime"):
        repeat_places(text_times)


# --------------------------------------------------------------------------- rates


def test_rate_ratio_hand_computed() -> None:
    # 30 per 10,000 = 3.0 per 1,000; 60 per 40,000 = 1.5 per 1,000; ratio 2.
    # log CI: 2 exp(-/+ 1.959964 sqrt(1/30 + 1/60)) = 1.290314 .. 3.100020
    # exact Poisson for 30 events: chi2(0.025, 60)/2 = 20.2409 .. chi2(0.975, 62)/2 = 42.8269
    result = rate_ratio(30, 10_000, 60, 40_000)
    assert result["rate_in"] == pytest.approx(3.0) and result["rate_out"] == pytest.approx(1.5)
    assert result["ratio"] == pytest.approx(2.0)
    assert result["ratio_low"] == pytest.approx(1.290314, abs=1e-6)
    assert result["ratio_high"] == pytest.approx(3.100020, abs=1e-6)
    assert result["rate_in_low"] == pytest.approx(2.02409, abs=1e-5)
    assert result["rate_in_high"] == pytest.approx(4.28269, abs=1e-5)
    assert result["note"] is None and result["per"] == 1000.0 and result["confidence"] == 0.95


def test_exact_poisson_interval_matches_garwood_table() -> None:
    # Garwood (1936) 95 % limits: 10 events -> 4.795 .. 18.390; 0 events -> 0 .. 3.689
    result = rate_ratio(10, 1000, 0, 1000, per=1000)
    assert (result["rate_in_low"], result["rate_in_high"]) == pytest.approx((4.795389, 18.390356), abs=1e-6)
    assert (result["rate_out_low"], result["rate_out_high"]) == pytest.approx((0.0, 3.688879), abs=1e-6)


def test_rate_ratio_zero_counts_give_nan_interval_and_a_note() -> None:
    none_in = rate_ratio(0, 5000, 12, 8000)
    assert none_in["ratio"] == 0.0 and math.isnan(none_in["ratio_low"]) and math.isnan(none_in["ratio_high"])
    assert "no events inside" in none_in["note"]
    none_out = rate_ratio(12, 5000, 0, 8000)
    assert none_out["ratio"] == math.inf and "no events outside" in none_out["note"]
    neither = rate_ratio(0, 5000, 0, 8000)
    assert math.isnan(neither["ratio"]) and "no events inside or outside" in neither["note"]


def test_rate_ratio_interval_coverage_by_simulation() -> None:
    """400 draws with true rates 4 and 2 per 1,000 (means 20 and 40): the 95 % ratio CI should cover 2 ~95 %."""
    rng = np.random.default_rng(11)
    events_in, events_out = rng.poisson(20, 400), rng.poisson(40, 400)
    results = [rate_ratio(int(a), 5000, int(b), 20_000) for a, b in zip(events_in, events_out)]
    ratio_cover = np.mean([r["ratio_low"] <= 2.0 <= r["ratio_high"] for r in results])
    rate_cover = np.mean([r["rate_in_low"] <= 4.0 <= r["rate_in_high"] for r in results])
    assert 0.92 <= ratio_cover <= 0.98, ratio_cover
    assert rate_cover >= 0.94, rate_cover  # exact intervals are conservative


def test_rate_per_and_input_checks() -> None:
    np.testing.assert_allclose(rate_per(np.array([5, 3]), np.array([2500, 0])), [2.0, np.nan])
    assert rate_per(7, 70_000, per=10_000) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="events_in must be a non-negative integer count; got -1"):
        rate_ratio(-1, 100, 1, 100)
    with pytest.raises(ValueError, match="population_out must be a positive number of persons; got 0"):
        rate_ratio(1, 100, 1, 0)
