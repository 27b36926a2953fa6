"""Read statistics for staff: delivered, opened, confirmed and answered per circular and per
area, always inside a `Scope`, always counted by the database."""
