"""The hub's VXP endpoint: agency systems built on the national axis's official SDK connect
to the hub as they would to the axis, changing only the endpoint URL.

The six operations of the axis are served under ``/vxp/`` (:mod:`hub.api.vxp`):
``sendEdoc`` is ingest, ``getReceivedEdocList``/``getEdoc``/``updateStatus`` are the
deliveries of the ``vxp`` channel (listed, fetched, acknowledged), ``getSentEdocList`` the
receipts of what the system sent, ``getAgenciesList`` the directory. Each system is
authenticated as the axis does it: an HMAC-SHA256 over the signed headers, under a secret the
hub issues (``lienthong agency vxp-secret CODE``) and keeps encrypted.

- :mod:`hub.vxp.wire` — the names, error codes and formats of the protocol, server side;
- :mod:`hub.vxp.signature` — reading a signed call and checking it, as the SDK signs it;
- :mod:`hub.vxp.answers` — the answers, every field a string the SDK can read;
- :mod:`hub.vxp.secrets` — systems and their secrets: issue, rotate, revoke, encrypt;
- :mod:`hub.vxp.service` — the operations over the hub's records.

The client side of the same protocol (the hub calling the national axis) is
``adapters/axis``; the two share no code, so each is checked against the SDK emulator
(``simulators/vxpsdk``) on its own.
"""
