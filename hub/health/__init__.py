"""Readiness a supervisor can check without starting a program: each long-running process
runs its own checks (the database answers; the broker is connected and consuming or
publishing) every few seconds, touches a file while they pass (``LIENTHONG_HEALTH_FILE``,
checked with ``find FILE -mmin -0.5``) and, under systemd, notifies ``READY=1`` and
``WATCHDOG=1`` (:mod:`~hub.health.reporter`, :mod:`~hub.health.systemd`).
"""
