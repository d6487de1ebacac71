"""Make the whole demo city in memory, step by step, from one seed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from grid.categories import read_table
from grid.demo.blocks import BlockContent, build_blocks, building_addresses
from grid.demo.complaints import Place, make_complaints
from grid.demo.facilities import Gaps, candidate_sites, design_gaps, place_facilities
from grid.demo.frame import Warp, make_warp
from grid.demo.layout import Layout, make_layout
from grid.demo.names import NamePool
from grid.demo.people import People, assign_households, make_people
from grid.demo.roads import add_public_streets
from grid.demo.streets import StreetNetwork, Streets

__all__ = ["DemoSpec", "City", "make_city", "DEFAULT_SEED", "DEFAULT_SCALE", "DEFAULT_AS_OF"]

log = logging.getLogger(__name__)

DEFAULT_SEED = 12345
DEFAULT_SCALE = 1.0
DEFAULT_AS_OF = date(2026, 6, 30)
"""The fixed default as-of date: complaints cover the 365 days before it (output stays byte-identical)."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoSpec:
    """What to generate: seed, scale (area, residents and complaints x scale) and as-of date."""

    seed: int = DEFAULT_SEED
    scale: float = DEFAULT_SCALE
    as_of: date = DEFAULT_AS_OF


@dataclass
class City:
    """Everything the demo files are written from (plan metres; see :mod:`grid.demo.frame`)."""

    spec: DemoSpec
    warp: Warp
    layout: Layout
    blocks: pd.DataFrame
    buildings: pd.DataFrame
    parcels: pd.DataFrame
    network: StreetNetwork
    people: People
    gaps: Gaps
    facilities: pd.DataFrame
    complaints: pd.DataFrame


def _households(content: BlockContent, scale: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    buildings = content.buildings.assign(households=assign_households(content.buildings, content.blocks, scale=scale))
    block_hh = np.bincount(buildings["block_id"], weights=buildings["households"], minlength=len(content.blocks))
    return buildings, content.blocks.assign(households=block_hh.astype(np.int64))


def _place(city_parts: dict, buildings: pd.DataFrame, blocks: pd.DataFrame) -> Place:
    people, gaps, layout = city_parts["people"], city_parts["gaps"], city_parts["layout"]
    communities = people.communities
    return Place(buildings=buildings, blocks=blocks,
                 community_of_building=people.block_community[buildings["block_id"].to_numpy()],
                 share_65plus=(communities["population_65plus"] / communities["population"].clip(lower=1)).to_numpy(),
                 facilities=city_parts["facilities"], river_v=layout.river_v,
                 new_dev_blocks=(blocks["sb_kind"] == "new_dev").to_numpy(), cut_off_community=gaps.cut_off_community,
                 building_address=buildings["address"].to_numpy(dtype=object),
                 building_street=buildings["street"].to_numpy(dtype=object),
                 community_name=communities["name"].to_numpy(dtype=object),
                 subdistrict_name=communities["subdistrict"].to_numpy(dtype=object))


def make_city(spec: DemoSpec, *, categories_dir: Path, progress: Progress | None = None) -> City:
    """Generate the demo city of ``spec``; category vocabularies come from ``categories_dir``."""
    step = progress or (lambda _name: None)
    rng = np.random.default_rng(spec.seed)
    pool = NamePool(rng)
    step("layout")
    layout = make_layout(rng, pool, scale=spec.scale)
    warp = make_warp(rng, twist_u=layout.old_centre[0], twist_v=layout.old_centre[1])
    step("blocks")
    streets = Streets()
    content = build_blocks(rng, pool, layout, streets)
    add_public_streets(layout, streets)
    network = streets.build()
    step("people")
    buildings, blocks = _households(content, spec.scale)
    address, street = building_addresses(blocks, buildings)
    buildings = buildings.assign(address=address, street=street)
    people = make_people(rng, pool, layout, blocks, buildings)
    step("facilities")
    gaps = design_gaps(layout, blocks, buildings, people.communities, people.block_community)
    sites = candidate_sites(rng, blocks, content.gates, people.block_community,
                            people.communities["subdistrict_no"].to_numpy())
    facilities = place_facilities(rng, pool, layout, blocks, sites, people.communities,
                                  read_table("facility_categories", categories_dir), gaps, scale=spec.scale)
    step("complaints")
    place = _place({"people": people, "gaps": gaps, "layout": layout, "facilities": facilities}, buildings, blocks)
    complaints = make_complaints(rng, place, read_table("complaint_categories", categories_dir),
                                 scale=spec.scale, as_of=spec.as_of)
    log.info("demo city: %d communities, %d grids, %d buildings, %d facilities, %d complaints, %d ways",
             len(people.communities), len(people.grids), len(buildings), len(facilities), len(complaints),
             len(network.way_id))
    return City(spec=spec, warp=warp, layout=layout, blocks=blocks, buildings=buildings, parcels=content.parcels,
                network=network, people=people, gaps=gaps, facilities=facilities, complaints=complaints)
