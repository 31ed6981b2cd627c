"""Execution backends behind one interface; see registry.py for how one is chosen."""
from .base import Backend
from .registry import BACKEND_ORDER, available_backends, create_backend

__all__ = ["Backend", "BACKEND_ORDER", "available_backends", "create_backend"]
