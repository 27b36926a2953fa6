"""Getting a released circular to LINE exactly once: the engine's steps, the worker, the retry
rules, the one LINE client, the messages, the monthly quota, single pushes with a stored retry
key, and what the engine reports."""
