"""A circular from draft to release: drafts and their rules, attachments, the way out (preview,
send, schedule, cancel, correct), targeting, templates, translations, reading aids, release."""
