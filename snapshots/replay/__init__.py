"""Replay: serving stored snapshot assets (owner-checked, sandboxed, or on the separate snapshot origin)."""
