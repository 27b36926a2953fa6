"""Running Kairan for real: checking a LINE channel's configuration against the platform, and
consistent backups of the database and the uploads that can be verified and restored."""
