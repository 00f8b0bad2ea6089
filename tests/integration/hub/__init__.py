"""Integration tests of the hub against real databases."""
