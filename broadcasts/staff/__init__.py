"""The people who run Kairan: invites to a role, login links, the one `Scope` of what each
may target, see and manage, and the audit log of what they did."""
