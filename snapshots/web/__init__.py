"""The web pages for links: views, forms, the list rows and their display helpers."""
