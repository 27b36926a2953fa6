"""The few things every service shares: the clock and the Tokyo zone, resident-facing i18n,
the postback codec, and single-use codes people copy between chats."""
