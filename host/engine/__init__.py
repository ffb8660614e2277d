"""The trading engine: exchange events in, decisions through the plugins, orders out.

* :mod:`host.engine.engine` builds the engine's parts and routes exchange events and ticks to
  them; the calling sequence a plugin can rely on is in its docstring and in docs/engine.md. The
  parts own their state and ask the plugins (through :mod:`host.dispatch`):
  :mod:`~host.engine.view` (market data, regimes, the hook context),
  :mod:`~host.engine.exits` and :mod:`~host.engine.entries` (the desks that decide),
  :mod:`~host.engine.orders` (own orders until settled), :mod:`~host.engine.fills` and
  :mod:`~host.engine.ledger` (fills), :mod:`~host.engine.positions` and
  :mod:`~host.engine.closes` (the registry against the exchange, closes journaled),
  :mod:`~host.engine.protection` (stops on the exchange) and :mod:`~host.engine.gate`
  (per-instrument exclusivity).
* :mod:`host.engine.execution` sends what the engine decides: journaled before it goes out.
* :mod:`host.engine.market` keeps each instrument's tick, quote, mark and bars;
  :mod:`host.engine.load` and :mod:`host.engine.stats` measure the host and the session;
  :mod:`host.engine.tasks` makes sure no background task fails unnoticed.
* :mod:`host.engine.startup` rebuilds the state from the journal and the exchange.

The runs built around the engine (paper, live) are :mod:`host.sessions`.

Data flows one way: exchange events in, orders out through the executor; nothing here imports
the command line, and the plugins see the engine only through the hooks.
"""
