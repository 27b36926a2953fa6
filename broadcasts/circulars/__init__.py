"""A circular from draft to release: composing, targeting, templates, translations, reading aids,
the signed links to it, and the release that snapshots its recipients into deliveries."""
