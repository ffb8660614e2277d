"""Watching a running host: Prometheus metrics and a read-only status page (docs/monitoring.md).

Everything here *reads* what the host already keeps — the engine's parts, the exchange link's
health, the plugin guard's records, the journal's commit timings — when it is asked (a scrape, a
poll of the status page), so watching adds no work to the path from a frame to a decision. The
server (:mod:`.server`) is started by the session runner when ``monitoring.enabled`` is set.
"""
