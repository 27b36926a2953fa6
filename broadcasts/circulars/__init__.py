"""A composed circular on its way out: preview, send, schedule, cancel, correct, targeting and
the target search, the month's message budget, translations, reading aids, release."""
