"""``scalphost sweep``: the same fast replays under many settings, fanned out on Ray.

* :mod:`host.sweep.spec` reads and validates the sweep spec (a bad spec exits 2, naming the field);
* :mod:`host.sweep.plan` expands it into runs — a grid (or random draws from it) of overrides by
  dotted path, times the data — each with its settings and a key that says when a stored result
  still applies (config digest, data and code);
* :mod:`host.sweep.task` is one run, a fast replay, as a worker executes it;
* :mod:`host.sweep.workers` hands the runs to Ray (or to a local process pool) and reports
  progress;
* :mod:`host.sweep.figures` measures a run (net PnL, drawdown, win rate, Sharpe);
  :mod:`host.sweep.store` keeps every run in SQLite for re-runs; :mod:`host.sweep.ranking` ranks
  the configs and writes the best as YAML; :mod:`host.sweep.tables` shows and writes the tables;
* :mod:`host.sweep.command` runs a whole sweep from spec to files;
* :mod:`host.sweep.candidates` runs ``golive`` for each of the best configs, as tasks too.
"""
