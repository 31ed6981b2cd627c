"""A saved link: URL rules, the save/edit services, the one link query, which snapshot a link shows."""
