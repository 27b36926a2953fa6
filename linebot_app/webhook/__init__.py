"""LINE's webhook: `/callback` and the handlers of the events it carries."""
