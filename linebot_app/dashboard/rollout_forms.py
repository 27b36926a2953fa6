"""Forms of the rollout pages (Flask-WTF, with CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField


class SaveTemplateForm(FlaskForm):  # type: ignore[misc]
    # Choices are the viewer's: their districts, and 「市全体」 for admins.
    district = SelectField(_l("だれが使えるか"), choices=[])
