"""Households (世帯): families sharing a LINE invite, their labels (the name staff see), paper
households per 班 with the 班長's proxy confirmation, and the watch-over hint with its notice."""
