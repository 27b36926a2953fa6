"""Circulars on the web: the resident's detail page, the public page, attachments, print view."""
