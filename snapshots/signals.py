"""Signals other apps listen to (the tagging app starts its analysis when a capture is over)."""
from django.dispatch import Signal

# Sent after the transaction that marked a snapshot done has committed; kwargs: snapshot.
snapshot_captured = Signal()
# Sent after a snapshot was marked failed for good (no retry left); kwargs: snapshot.
snapshot_failed = Signal()
