"""Residents and what they do: following, registering, their language, join codes, confirming,
answering, opening circulars through their signed links, and the archive of what they got."""
