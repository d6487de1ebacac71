"""``grid grids``, ``grid users``, ``grid sla`` and ``grid complaints``: the governance commands.

Registered on the main group by :mod:`grid.cli`; each command calls library functions in order.
"""

from __future__ import annotations

import click

from grid.settings import Settings

__all__ = ["COMMANDS"]


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


@click.group()
def grids() -> None:
    """Grids (网格): generate them where a city has none, check their balance."""


@grids.command("generate")
@click.option("--target", type=int, help="Households per grid to aim for (default 400, $GRID_TARGET_HOUSEHOLDS).")
@click.option("--min", "minimum", type=int, help="Fewest households per grid (default 300).")
@click.option("--max", "maximum", type=int, help="Most households per grid (default 500).")
@click.option("--replace", is_flag=True, help="Overwrite the grids stored in the database.")
@click.pass_context
def grids_generate(ctx: click.Context, target: int | None, minimum: int | None, maximum: int | None,
                   replace: bool) -> None:
    """Cut every community into contiguous grids of H3 cells with balanced households.

    \b
    Contiguity-constrained regionalisation on the H3 neighbour graph: region growing from
    spread seeds, then boundary moves that even the households while keeping each grid
    connected. Prints balance (coefficient of variation of households per grid) and
    compactness (Polsby-Popper: 1 = circle, one hexagon ~0.91).
    """
    import dataclasses

    from grid.governance.grids import generate_grids
    from grid.store import write_session

    settings = _settings(ctx)
    settings = dataclasses.replace(settings, **{k: v for k, v in (
        ("grid_target_households", target), ("grid_min_households", minimum),
        ("grid_max_households", maximum)) if v is not None})
    with write_session(settings.db_path, h3_res=settings.h3_res) as con:
        result = generate_grids(con, settings, replace=replace)
    s = result.summary
    click.echo(f"load {result.load_id}: {s['grids']} grids, households per grid mean {s['mean_weight']:.0f} "
               f"(min {s['min_weight']:.0f}, max {s['max_weight']:.0f}), cv {s['cv']:.3f}")
    click.echo(f"  within {settings.grid_min_households}-{settings.grid_max_households} households: "
               f"{s['share_within_bounds']:.1%}; compactness mean {s['mean_compactness']:.2f}, "
               f"min {s['min_compactness']:.2f}")
    outside = result.balance[~result.balance["within_bounds"]]
    for row in outside.head(10).itertuples():
        click.echo(f"  {row.grid_id}: {row.households:.0f} households - {row.reason}")
    click.echo(f"  complaints routed to a grid: {result.routing['routed_to_grid']:,}, "
               f"unrouted: {result.routing['unrouted']:,}")


@grids.command("balance")
@click.pass_context
def grids_balance(ctx: click.Context) -> None:
    """Households per stored grid: spread (coefficient of variation), share within the bounds
    (GRID_MIN/MAX_HOUSEHOLDS) and compactness; the grids furthest outside first."""
    from grid.governance.grids import stored_grid_balance
    from grid.store import open_reader

    settings = _settings(ctx)
    balance, s = stored_grid_balance(open_reader(settings.db_path), settings)
    click.echo(f"{s['grids']} grids, households per grid mean {s['mean_weight']:.0f} (min {s['min_weight']:.0f}, "
               f"max {s['max_weight']:.0f}), cv {s['cv']:.3f}; within {settings.grid_min_households}-"
               f"{settings.grid_max_households}: {s['share_within_bounds']:.1%}; compactness mean "
               f"{s['mean_compactness']:.2f}")
    outside = balance[~balance["within_bounds"]].sort_values("households")
    for row in outside.head(10).itertuples():
        click.echo(f"  {row.grid_id}: {row.households:.0f} households - {row.reason}")


@click.group()
def users() -> None:
    """Users and roles (admin, planner, supervisor, grid_manager, analyst)."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, help="admin, planner, supervisor, grid_manager or analyst.")
@click.option("--manager", "manager_id", help="For a grid_manager: their id in the roster (managers table).")
@click.option("--name", "display_name", help="Name shown in the app.")
@click.option("--replace", is_flag=True, help="Replace an existing user of that name.")
@click.password_option(help="Password (asked for when omitted; at least 8 characters).")
@click.pass_context
def users_add(ctx: click.Context, username: str, role: str, manager_id: str | None, display_name: str | None,
              replace: bool, password: str) -> None:
    """Add a user; the password is stored only as an argon2id hash."""
    from grid.governance.access import add_user, read_roles, write_roles
    from grid.store import write_session

    settings = _settings(ctx)
    with write_session(settings.db_path, h3_res=settings.h3_res) as con:
        write_roles(con, read_roles(settings.governance_dir / "roles.csv"))
        add_user(con, username, password, role, display_name=display_name, manager_id=manager_id, replace=replace)
    click.echo(f"user {username} ({role}) saved")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Users with their role, manager and grids (never their password hashes)."""
    from grid.queries.users import list_users
    from grid.store import open_reader

    frame = list_users(open_reader(_settings(ctx).db_path))
    click.echo(frame.to_string(index=False) if len(frame) else "no users yet: grid users add NAME --role ROLE")


@users.command("disable")
@click.argument("username")
@click.pass_context
def users_disable(ctx: click.Context, username: str) -> None:
    """Deactivate a user (they can no longer log in)."""
    from grid.governance.access import deactivate_user
    from grid.store import write_session

    settings = _settings(ctx)
    with write_session(settings.db_path, h3_res=settings.h3_res) as con:
        deactivate_user(con, username)
    click.echo(f"user {username} deactivated")


@click.group()
def sla() -> None:
    """Time limits (办理时限): rules and the working-day calendar in geodata/governance."""


@sla.command("apply")
@click.pass_context
def sla_apply(ctx: click.Context) -> None:
    """Recompute every complaint's deadlines after editing sla_rules.csv or calendar_cn.csv."""
    from grid.governance.refresh import refresh_sla
    from grid.store import write_session

    settings = _settings(ctx)
    with write_session(settings.db_path, h3_res=settings.h3_res) as con:
        rows, notes = refresh_sla(con, settings)
    click.echo(f"deadlines recomputed for {rows:,} complaints")
    for note in notes:
        click.echo(f"  note: {note}")


@click.group()
def complaints() -> None:
    """Complaint routing and the three rates."""


@complaints.command("routes")
@click.pass_context
def complaints_routes(ctx: click.Context) -> None:
    """How complaints were routed: to a grid, to a community only, by address, unrouted."""
    from grid.queries.users import routing_summary
    from grid.store import open_reader

    click.echo(routing_summary(open_reader(_settings(ctx).db_path)).to_string(index=False))


@complaints.command("unrouted")
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def complaints_unrouted(ctx: click.Context, limit: int) -> None:
    """The unrouted queue: complaints with no grid or community, with the reason."""
    from grid.queries.users import unrouted_queue
    from grid.store import open_reader

    frame = unrouted_queue(open_reader(_settings(ctx).db_path), limit=limit)
    click.echo(frame.to_string(index=False) if len(frame) else "no unrouted complaints")


@complaints.command("rates")
@click.option("--by", "by", default="subdistrict", show_default=True,
              type=click.Choice(["grid", "manager", "community", "subdistrict", "month"]))
@click.pass_context
def complaints_rates(ctx: click.Context, by: str) -> None:
    """The three rates (响应率 response, 解决率 resolution, 满意率 satisfaction) per group."""
    from grid.governance.access import system_viewer
    from grid.queries.workload import RATE_GROUPS, rates
    from grid.store import open_reader

    settings = _settings(ctx)
    frame = rates(open_reader(settings.db_path), settings, system_viewer(), by=[by])
    columns = [RATE_GROUPS[by], "complaints", "response_rate", "resolution_rate", "satisfaction_rate"]
    click.echo(frame[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))


COMMANDS = (grids, users, sla, complaints)
