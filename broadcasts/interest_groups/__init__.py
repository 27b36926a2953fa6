"""Interest groups (子ども会, 老人会, volunteers): created by staff, joined by a code and left by
residents, and 「役員会」, an association's staff, derived from their roles."""
