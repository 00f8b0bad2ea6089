"""Evidence of sending and delivery: what the hub vouches for, and how anyone can check it.

Every packet the hub accepts and every copy it hands over (or fails to) leaves a record
(:mod:`.facts`), written in the same transaction as the change itself. Checkpoints chain the
records in one order and sign the chain's head with the hub's key (:mod:`.checkpoints`,
:mod:`.signing`); :mod:`.verification` walks the chain in the database and names the first
broken record. A receipt (:mod:`.receipt`, made by :mod:`.export`) carries one packet's or
one document's records, signed with an XML signature; :mod:`.offline` checks one with the
receipt and the hub's certificate alone. Records keep the packet's SHA-256, never its bytes,
so they outlive retention's purge of the payload.
"""
