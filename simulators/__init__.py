"""Simulated peers of the hub: agencies, the national axis, scenarios, generated load."""
