"""The national axis seen from the hub: receive loops, the agencies it lists, their record."""
