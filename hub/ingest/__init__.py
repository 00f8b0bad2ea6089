"""Ingest: how a packet enters the hub, with the checks of its XML and PDF signatures."""
