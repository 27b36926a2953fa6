"""Getting a released circular to LINE exactly once: the engine's steps, the worker, the retry
rules, the one LINE client, the card, and single pushes with a stored retry key."""
