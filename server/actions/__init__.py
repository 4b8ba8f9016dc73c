"""The only code that changes state.

Every function here writes in one transaction and records the events of that change in
the same transaction (``Tx.emit``); the events reach the bus only after the commit.
"""
