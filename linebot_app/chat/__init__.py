"""The LINE conversation: one ordered routing table (routes.py) from what a person sends to a
handler that calls a service and words its result for the reader (the services never do)."""
