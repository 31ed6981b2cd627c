"""Routes that serve captured snapshot assets (owner-checked, sandboxed)."""
urlpatterns: list = []
