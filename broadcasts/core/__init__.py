"""The few things every service shares: the clock and the Tokyo zone, resident-facing i18n,
the postback codec, single-use codes people copy between chats, and folding typed text."""
