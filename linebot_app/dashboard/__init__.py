"""The staff dashboard under /dashboard: views (the blueprint, login, errors, headers) with one
area blueprint per module — circulars, stats, messages, paper, rollout, staff, safety.

What the areas share lives in common (scope checks, paging, the clock, LINE's quota), auth (the
viewer), forms, compose_form, labels, exports (CSV), links, charts and i18n. Importing this
package imports nothing else: the CLI and the webhook use `links` without loading the pages.
"""
