"""``scalphost bench``: how fast the host is, measured beside a plain reference loop.

Benchmarks measure real time — the one place in scalphost where wall time is the point — with
:func:`host.clock.monotonic_ns`; the host under measurement still runs on its injected clock.
Every figure is reported with its ratio to a plain reference loop (orjson, a dict registry, a
pluggy trailing stop on floats) run over the same frames in the same run, so a figure taken on
a busy machine can still be compared with one taken on a quiet machine.
"""
