"""Scenarios (b) and (c) at the socket: the pusher process feeds the host's real WebSocket client.

(b) **latency**: tickers at a steady 2,000 a second; one open position, whose stop one frame in
:data:`~host.bench.scale.CROSSING_EVERY` crosses. Each frame is timed from the server's write to
its arrival in the host (receive), decoded (decode) and decided (decide); each crossing frame on
to its close's intent committed in the journal (journal: durably, the default ``full``), its
request signed and started (sign) and written to the socket (send). The simulator refuses the
close (the bench's positions exist in the host only); what is timed ends when the request is
written, before any answer.

(c) **scale**: 200 instruments' bbo-tbt, a round of one frame each every 10 ms (20,000 a
second), positions on 10: does the host keep up (every frame decided, how far behind at the
end), how late the event loop runs (a probe sleeping 5 ms notes how late it wakes) and what
share of a core the host's process uses.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from host.bench import frames
from host.bench.figures import Figure, latency
from host.bench.hotpath import FAR_STOP
from host.bench.pusher import Pusher, Schedule, pusher_process
from host.bench.rig import Rig, Stamps, assembled_host
from host.bench.scale import (
    CROSSING_EVERY,
    SCALE_HZ,
    SCALE_POSITIONS,
    SOCKET_RATE,
    Sizes,
)
from host.clock import monotonic_ns

READY_SECONDS = 30.0
SETTLE_SECONDS = 0.3
"""Once every frame is decoded: time for the last decisions and closes to be made."""
CATCH_UP_SECONDS = 60.0
"""How long a host that fell behind gets to decode the rest once the pusher is done."""
KEEPER_SECONDS = 0.005
"""How often the latency scenario reopens a position once its close is under way."""
PROBE_SECONDS = 0.005
BEHIND_MS = 50.0
"""Deciding the last frame later than this after it was sent is falling behind."""
MEASURED_END = frames.START_MS
WARM_UP_END = frames.START_MS - 10_000_000


@asynccontextmanager
async def connected_host(pusher: Pusher, listed: int) -> AsyncIterator[Rig]:
    """A host whose sockets are connected to ``pusher`` and subscribed, marks received."""
    async with assembled_host(frames.instruments(listed), pusher.ws_url) as rig:
        link = asyncio.create_task(rig.connection.run())
        try:
            await asyncio.wait_for(rig.connection.wait_ready(), READY_SECONDS)
            await asyncio.sleep(SETTLE_SECONDS)
            yield rig
        finally:
            await rig.connection.stop()
            with suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(link, READY_SECONDS)


async def push(pusher: Pusher, schedule: Schedule, stamps: Stamps) -> list[int]:
    """Push ``schedule``; return the frames' send times once the host has decoded them all.

    A host that fell behind gets :data:`CATCH_UP_SECONDS` to decode the rest, then a moment
    for the closes under way.
    """
    decoded = stamps.expect(schedule.size)
    sent = await asyncio.to_thread(pusher.push, schedule)
    with suppress(TimeoutError):
        await asyncio.wait_for(decoded.wait(), CATCH_UP_SECONDS)
    await asyncio.sleep(SETTLE_SECONDS)
    return sent


async def socket_latency(sizes: Sizes, reference: float, loop_name: str) -> list[Figure]:
    """Scenario (b) on the running event loop (``loop_name`` says which)."""
    count = max(CROSSING_EVERY, int(sizes.socket_seconds * SOCKET_RATE))
    interval = 1_000_000_000 // SOCKET_RATE
    with pusher_process() as pusher:
        async with connected_host(pusher, 1) as rig:
            rig.open_position()
            keeper = asyncio.create_task(_keep_one_open(rig))
            try:
                warm = Schedule("tickers", CROSSING_EVERY * 2, 1, interval, WARM_UP_END,
                                CROSSING_EVERY)  # fmt: skip
                await push(pusher, warm, rig.stamps)
                rig.stamps.clear()
                schedule = Schedule("tickers", count, 1, interval, MEASURED_END, CROSSING_EVERY)
                sent = await push(pusher, schedule, rig.stamps)
            finally:
                keeper.cancel()
    _, crossing = frames.ticker_run(count, CROSSING_EVERY)
    return _latency_figures(f"socket ({loop_name})", rig.stamps, sent, crossing, reference)


async def _keep_one_open(rig: Rig) -> None:
    while True:
        if rig.open_positions_not_closing() == 0:
            rig.open_position()
        await asyncio.sleep(KEEPER_SECONDS)


@dataclass
class Breakdown:
    """Per-stage samples (ns) of the frames and closes that could be matched."""

    receive: list[int] = field(default_factory=list)
    decode: list[int] = field(default_factory=list)
    decide: list[int] = field(default_factory=list)
    to_decision: list[int] = field(default_factory=list)
    wire_to_decision: list[int] = field(default_factory=list)
    journal: list[int] = field(default_factory=list)
    sign: list[int] = field(default_factory=list)
    send: list[int] = field(default_factory=list)
    to_trade: list[int] = field(default_factory=list)
    wire_to_trade: list[int] = field(default_factory=list)


def breakdown(stamps: Stamps, sent: list[int], crossing: set[int]) -> Breakdown:
    """Split each frame's time into its stages, and each crossing frame's on to its close.

    Frames are matched to their send times by order (one connection keeps it). A crossing
    frame's close is the first intent committed after its decision and the first order request
    started after that commit; a crossing frame the feed dropped, or that no close followed
    (the position was not reopened in time), is left out.
    """
    frames_seen = min(len(sent), len(stamps.arrived))
    decided = [index for index in range(frames_seen) if stamps.decided[index]]
    part = Breakdown()
    for index in decided:
        arrived, decoded, made = (
            stamps.arrived[index], stamps.decoded[index], stamps.decided[index]
        )  # fmt: skip
        part.receive.append(arrived - sent[index])
        part.decode.append(decoded - arrived)
        part.decide.append(made - decoded)
        part.to_decision.append(made - arrived)
        part.wire_to_decision.append(made - sent[index])
    started = [request[0] for request in stamps.requests]
    for index in sorted(crossing):
        if index >= frames_seen or not stamps.decided[index]:
            continue
        made = stamps.decided[index]
        commit = _first_after(stamps.committed, made)
        request = bisect_left(started, commit) if commit else len(started)
        if commit is None or request == len(started):
            continue
        begun, written = stamps.requests[request]
        part.journal.append(commit - made)
        part.sign.append(begun - commit)
        part.send.append(written - begun)
        part.to_trade.append(written - stamps.arrived[index])
        part.wire_to_trade.append(written - sent[index])
    return part


def _first_after(readings: list[int], moment: int) -> int | None:
    at = bisect_left(readings, moment)
    return readings[at] if at < len(readings) else None


def _latency_figures(
    scenario: str, stamps: Stamps, sent: list[int], crossing: set[int], reference: float
) -> list[Figure]:
    part = breakdown(stamps, sent, crossing)
    closes = f"{len(part.to_trade)} closes of {len(crossing)} crossing frames"
    costs = {"decode", "decide (feed + engine + plugins)"}
    rows: list[tuple[str, list[int], tuple[str, float] | None, str]] = [
        ("receive (server write → host decode)", part.receive, None, ""),
        ("decode", part.decode, None, ""),
        ("decide (feed + engine + plugins)", part.decide, None, ""),
        ("arrival → decision", part.to_decision, ("p99", 200.0), f"{len(part.decide)} frames"),
        ("server write → decision", part.wire_to_decision, None, ""),
        ("journal (intent durable)", part.journal, None, closes),
        ("sign (request started)", part.sign, None, ""),
        ("send (request written)", part.send, None, ""),
        ("tick to trade (arrival → written)", part.to_trade, ("p50", 700.0), closes),
        ("tick to trade (server write → written)", part.wire_to_trade, ("p99", 1500.0), ""),
    ]
    return [
        latency(scenario, name, samples, reference, goal_us=goal, note=note, cost=name in costs)
        for name, samples, goal, note in rows
        if samples
    ]


async def sustained(sizes: Sizes, reference: float) -> list[Figure]:
    """Scenario (c) at the socket: 200 instruments' bbo-tbt at 100 Hz each."""
    rounds = max(2, int(sizes.scale_seconds * SCALE_HZ))
    interval = 1_000_000_000 // SCALE_HZ
    with pusher_process() as pusher:
        async with connected_host(pusher, sizes.scale_instruments) as rig:
            inst_ids = tuple(rig.settings.instruments)
            for inst_id in inst_ids[:SCALE_POSITIONS]:
                rig.open_position(inst_id, FAR_STOP)
            warm = Schedule("quotes", SCALE_HZ // 10, len(inst_ids), interval, WARM_UP_END,
                            inst_ids=inst_ids)  # fmt: skip
            await push(pusher, warm, rig.stamps)
            rig.stamps.clear()
            schedule = Schedule("quotes", rounds, len(inst_ids), interval, MEASURED_END,
                                inst_ids=inst_ids)  # fmt: skip
            lags: list[int] = []
            probe = asyncio.create_task(_probe_lag(lags))
            cpu, wall = time.process_time(), monotonic_ns()
            try:
                sent = await push(pusher, schedule, rig.stamps)
                busy = time.process_time() - cpu
            finally:
                probe.cancel()
    decided = [made for made in rig.stamps.decided if made]
    elapsed = ((max(decided) if decided else monotonic_ns()) - wall) / 1e9
    return _scale_figures(
        rig.stamps, sent, lags, busy / elapsed, reference, sizes.scale_instruments
    )


async def _probe_lag(lags: list[int]) -> None:
    """Note how late a 5 ms sleep wakes: the time the loop had no turn to give it."""
    while True:
        before = monotonic_ns()
        await asyncio.sleep(PROBE_SECONDS)
        lags.append(monotonic_ns() - before - int(PROBE_SECONDS * 1e9))


def _scale_figures(
    stamps: Stamps,
    sent: list[int],
    lags: list[int],
    cpu_share: float,
    reference: float,
    instruments: int,
) -> list[Figure]:
    decided = [made for made in stamps.decided if made]
    seconds = (sent[-1] - sent[0]) / 1e9 if len(sent) > 1 else 0.0
    offered = len(sent) / seconds if seconds else 0.0
    handled = len(decided) / ((decided[-1] - sent[0]) / 1e9) if decided else 0.0
    behind_ms = (max(decided) - sent[-1]) / 1e6 if decided else float("inf")
    kept_up = len(decided) == len(sent) and behind_ms < BEHIND_MS
    matched = min(len(sent), len(stamps.decided))
    wire = [stamps.decided[i] - sent[i] for i in range(matched) if stamps.decided[i]]
    return [
        Figure("scale", "frames decided per second", "frames/s", handled,
               throughput_per_s=handled, goal=f"{instruments * SCALE_HZ:,}/s sustained",
               met=kept_up,
               note=f"offered {offered:,.0f}/s; {len(decided):,} of {len(sent):,} decided; "
               f"{behind_ms:.1f} ms behind at the end"),
        latency("scale", f"server write → decision, {instruments} instruments", wire, reference),
        latency("scale", "event-loop lag (5 ms probe)", lags, reference),
        Figure("scale", "host CPU share", "% of a core", cpu_share * 100,
               note="host process (engine, client, idle simulator); the pusher excluded"),
    ]  # fmt: skip
