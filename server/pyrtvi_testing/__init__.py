"""Pieces for testing a bot through pyrtvi (CPython side): offline speech (:mod:`.speech`)."""
