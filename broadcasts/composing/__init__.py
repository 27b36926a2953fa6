"""Composing a circular: drafts and their rules, attachments, templates, and the state of a
circular half-composed in LINE (its session and steps), for the dashboard and the chat alike."""
