"""What the hub keeps on record and for how long: the audit log and payload retention."""
