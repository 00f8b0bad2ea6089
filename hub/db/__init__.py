"""Persistence of the hub: ORM tables, engines and sessions, and schema migrations."""
