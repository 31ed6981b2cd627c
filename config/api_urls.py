"""REST API routes (token auth, links, tags, schema)."""
urlpatterns: list = []
