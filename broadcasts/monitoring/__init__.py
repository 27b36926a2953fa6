"""Monitoring: the figures `/metrics` and `/healthz` read from the database at the moment they
are asked. The web, the delivery worker and the clock are separate processes (several of each,
some day); what they did is in the database, so any one web process can report all of it."""
