"""The built-in plugins: one module per plugin, each a class the host builds with its settings.

Which of them exist, run by default or are essential is listed beside the code that loads them,
in :data:`host.pluginmanager.BUILTIN_PLUGINS`; this package imports nothing from the host itself.
"""
