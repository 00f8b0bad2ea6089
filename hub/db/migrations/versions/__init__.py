"""Migration revisions, applied in order by :mod:`hub.db.migrate`."""
