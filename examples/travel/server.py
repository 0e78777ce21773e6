"""A FasterAPI MCP server in Python for a small travel desk: a tool that reports progress and asks
the user a question (elicitation), a slow tool a client may cancel, resources and a prompt.

Written exactly as for FastMCP; only the import differs. Serve it over stdio or Streamable HTTP:

    fasterapi run examples/travel/server.py
    fasterapi run examples/travel/server.py --http 127.0.0.1:8000

Both protocol eras work unchanged: with a 2025-era client `ctx.elicit` sends an
`elicitation/create` request and waits for the answer; with a 2026-07-28 client it becomes an
`input_required` result the client answers by calling again (the tool runs again up to the
question, so keep what comes before it free of side effects). The official TypeScript client v2
drives it in tests/integration/ts2 (integration/ts-client-v2-stdio and -http).
"""

import asyncio
from dataclasses import dataclass

from fasterapi import Context, FastMCP, shared

mcp = FastMCP(
    "travel-desk",
    instructions="Book trips (asks who travels), search flights (slow, cancellable), read "
    "destination guides, and plan a trip with the plan_trip prompt.",
)

DESTINATIONS = {
    "lisbon": {"country": "Portugal", "best_months": ["May", "June", "September"], "nightly_eur": 120},
    "kyoto": {"country": "Japan", "best_months": ["April", "November"], "nightly_eur": 180},
}

# Every search and how it ended ("running", "done" or "cancelled"). Tools run on several worker
# interpreters, so this lives in fasterapi.shared (one copy for the whole server), not in a
# module-level list (one per worker).
SEARCH_IDS = shared.Counter("travel-search-ids")
SEARCHES = shared.Map("travel-searches")


@dataclass
class Traveller:
    name: str
    seats: int = 1


@mcp.tool()
async def book_trip(destination: str, nights: int, ctx: Context) -> str:
    """Book a trip: checks availability (reporting progress), then asks who travels."""
    place = DESTINATIONS.get(destination.lower())
    if place is None:
        raise ValueError(f"no trips to {destination}; try one of {', '.join(DESTINATIONS)}")
    steps = ["checking availability", "holding a room", "pricing"]
    for i, step in enumerate(steps):
        await ctx.report_progress(i + 1, len(steps), step)
        await asyncio.sleep(0.02)
    answer = await ctx.elicit(f"Who travels to {destination} for {nights} nights?", Traveller)
    if answer.action != "accept":
        return f"booking not made ({answer.action})"
    who = answer.data
    price = place["nightly_eur"] * nights * who.seats
    return f"booked {destination} for {who.name}: {who.seats} seat(s), {nights} nights, {price} EUR"


@mcp.tool()
async def search_flights(destination: str, seconds: int, ctx: Context) -> str:
    """Search flights to a destination; takes `seconds` and reports progress as it goes."""
    key = "%08d" % SEARCH_IDS.add()
    SEARCHES[key] = {"destination": destination, "status": "running"}
    steps = seconds * 10
    try:
        for i in range(steps):
            await ctx.report_progress(i, steps, f"searching ({i * 100 // steps}%)")
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        SEARCHES[key] = {"destination": destination, "status": "cancelled"}  # the client cancelled
        raise
    SEARCHES[key] = {"destination": destination, "status": "done"}
    return f"3 flights to {destination}"


@mcp.resource("travel://destinations/{name}", mime_type="application/json")
def destination_guide(name: str) -> dict:
    """A destination's guide: country, best months, nightly price."""
    place = DESTINATIONS.get(name.lower())
    if place is None:
        raise ValueError(f"no guide for {name}")
    return {"name": name, **place}


@mcp.resource("travel://searches", mime_type="application/json")
def searches() -> list:
    """Every flight search, oldest first, and how it ended."""
    return [SEARCHES[k] for k in sorted(SEARCHES)]


@mcp.prompt()
def plan_trip(destination: str, days: str = "3") -> str:
    """Ask for a day-by-day plan of a trip."""
    return f"Plan a {days}-day trip to {destination}: one paragraph per day, with a budget."


if __name__ == "__main__":
    mcp.run()
