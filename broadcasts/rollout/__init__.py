"""Bringing districts onto Kairan: activation, the adoption curve, join flyers, the area import
from the city's CSV, and the bot's rich menu."""
