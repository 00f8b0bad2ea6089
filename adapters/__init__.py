"""Adapters to the outside world: national axis, agency channels, blob storage."""
