"""LINE's webhook, `/callback`: the signature, the parse, each event's id claimed once, and each
event handed to the conversation (linebot_app/chat) inside its transaction; the reply after it."""
