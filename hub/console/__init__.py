"""The city office's monitoring console: server-rendered pages under ``/console/``.

Importing this package loads nothing heavy: :mod:`hub.db.text` is used by the ORM
models; the web application is built by :func:`hub.console.app.create_console`.
"""
