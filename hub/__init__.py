"""The lienthong hub: ingest, route, deliver and track edXML packets between agencies."""
