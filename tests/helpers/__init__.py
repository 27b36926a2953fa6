"""Helpers every tier shares: plain functions and classes imported by test modules and conftests.

Fixtures live in the conftest of the tier that uses them; what a test imports lives here, never
in another test module or a conftest."""
