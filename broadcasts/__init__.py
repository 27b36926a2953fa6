"""Kairan's services: plain functions that take a session (and a clock where time matters),
flush but never commit. They know nothing of Flask or of HTTP requests."""
