"""Where each document stands: timelines, business receipts (statuses), gauges for metrics."""
