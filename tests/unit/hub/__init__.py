"""Unit tests of the hub: pure logic, no database or broker."""
