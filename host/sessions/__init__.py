"""How a trading session runs, around the engine.

* :mod:`host.sessions.runner` assembles one run — journal, plugins, connection, engine — starts
  it, trades and shuts it down gracefully; only the venue differs between modes.
* :mod:`host.sessions.paper` points a run at the built-in simulator, on its clock.
* :mod:`host.sessions.live` points a run at OKX (demo or live) until SIGINT or SIGTERM. Whether
  live trading may start at all (the go-live stamp) is decided before, by the command line.
"""
