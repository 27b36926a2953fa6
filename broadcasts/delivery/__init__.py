"""Getting a released circular to LINE exactly once: the engine's steps and worker, retry rules,
the LINE client, the messages, the monthly quota, keyed pushes, and what the engine reports."""
