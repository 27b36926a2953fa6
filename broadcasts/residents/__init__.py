"""Residents and what they do: following, registering, their language, join codes, confirming
and answering circulars, opening them, and the archive of what they received."""
