"""Residents and what they do: following, registering, their language, join codes, confirming
and answering circulars, opening them through their signed links, and the archive of what they
received."""
