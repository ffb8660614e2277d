"""Notifications: the host delivers what the notifier plugins ask for (docs/notifications.md).

The engine and the session emit :class:`~host.domain.HostEvent` values into one
:class:`~host.notify.service.Notifier`; its own task asks the plugins (``notification_for``) and
POSTs their answers, with retries, back-off and a rate limit, off the trading path.
"""
