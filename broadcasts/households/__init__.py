"""Households (世帯): families sharing a LINE invite, paper households per 班 with the 班長's
proxy confirmation, and the watch-over hint with the notice that opts residents in."""
