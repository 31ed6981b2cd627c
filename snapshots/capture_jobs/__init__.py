"""Capture jobs, the ORM side of capturing: queue a snapshot, claim and run it, schedule re-captures,
clean up stored files. The browser engine itself is snapshots/capture/ (no ORM)."""
