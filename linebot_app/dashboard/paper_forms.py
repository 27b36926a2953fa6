"""Forms of the households and paper pages (Flask-WTF, CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional

from broadcasts.households.watch_over import DEFAULT_COUNT, MAX_COUNT


class PaperGroupForm(FlaskForm):  # type: ignore[misc]
    count = IntegerField(_l("紙で受け取る世帯数"), validators=[InputRequired(), NumberRange(min=0)])
    names = TextAreaField(
        _l("名前（任意・1行に1世帯、班長と役員だけが見ます）"), validators=[Optional()]
    )


class WatchOverForm(FlaskForm):  # type: ignore[misc]
    enabled = BooleanField(_l("見守りをする（班長に、続けて確認のない人を知らせる）"))
    count = IntegerField(
        _l("続けて確認のない回覧の数"),
        default=DEFAULT_COUNT,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_COUNT)],
    )
