"""What a scalphost installation proves about itself before it trades.

* :mod:`.profiles` and :mod:`.pytest_plugin` — the hypothesis profiles (dev / ci / golive) and the
  pytest plugin that chooses between them;
* :mod:`.exits`, :mod:`.regimes`, :mod:`.limit_orders`, :mod:`.breakers` — the conformance suites
  any exit plugin, regime detector, limit-order policy or circuit breaker must pass: subclass one
  as ``Test...`` in a test module and name your plugin class (see each module's docstring);
* :mod:`.scenarios`, :mod:`.calls`, :mod:`.suite` — the generated markets they run on, the direct
  hook calls that judge a plugin on its own, and the per-subclass binding of the properties.
"""
