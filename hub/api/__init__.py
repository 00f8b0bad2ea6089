"""The hub's HTTP API: agencies post and fetch packets, parties follow documents, operators
replay; plus health, readiness and Prometheus metrics. Built by :func:`hub.api.app.create_app`."""
