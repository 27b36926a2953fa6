"""Monitoring: the figures `/metrics` and `/healthz` read from the database when asked, so any
one web process reports what every worker and clock process did."""
