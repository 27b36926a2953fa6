"""Read statistics for staff: delivered, opened, confirmed and answered per circular and per
area, always inside a `Scope`, always counted by the database.

circular_counts (the vocabulary, and each circular's counts), by_area (district → association →
班), responses (confirmations over time, answers, failures, who has not confirmed),
digital_reach (households on LINE or paper), insight (LINE's own figures), circular_page (the
statistics page of one circular, in one read).
"""
