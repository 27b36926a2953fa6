"""The staff dashboard: circulars and their read statistics, reach, staff and the audit log."""
