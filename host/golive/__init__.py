"""``scalphost golive``: the checklist a configuration must pass before it may trade live.

* :mod:`.checklist` — the items' results and how they are reported as they come;
* :mod:`.items` — each item: config and plugins, conformance suites, coverage, call times, a
  fault-injected paper session, the exchange check;
* :mod:`.session` — that paper session and the invariants it checks;
* :mod:`.stamp` — the stamp a passing run writes, bound to the config and the code;
* :mod:`.gate` — what ``scalphost run --mode live`` asks of the stamp.
"""
