"""Time-driven work: quiet hours and due-time rules, reminders, the officers' digest, the clock's
jobs, and the APScheduler process that ticks them."""
