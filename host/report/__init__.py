"""``scalphost report``: what a session did, read from its journal.

Shown in the terminal, as one HTML page with interactive plots, and as CSV files.
:mod:`~host.report.source` reads the journal's rows (read-only, also while a session writes),
:mod:`~host.report.figures` computes the figures, :mod:`~host.report.terminal`,
:mod:`~host.report.html` and :mod:`~host.report.csv_export` show them.
"""
