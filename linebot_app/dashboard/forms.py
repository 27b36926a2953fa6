"""Dashboard forms (Flask-WTF): every one carries a CSRF token. They only parse: the rules are
the services', so the web and LINE agree."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FileField,
    IntegerField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional

from broadcasts.households.watch_over import DEFAULT_COUNT, MAX_COUNT
from linebot_app.ids import id_value


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """A button and its CSRF token: logging in with a link, logging out, removing a role."""


class PaperHouseholdsForm(FlaskForm):  # type: ignore[misc]
    paper_households = IntegerField(
        _l("紙で受け取る世帯数"), validators=[InputRequired(), NumberRange(min=0)]
    )


ROLE_CHOICES = {
    "admin": _l("管理者（市全体）"),
    "promoter": _l("ICT推進員（校区）"),
    "officer": _l("自治会役員（自治会）"),
    "group_leader": _l("班長（班）"),
}


class InviteForm(FlaskForm):  # type: ignore[misc]
    """The choices are the roles the viewer may invite (invites.appointable_roles), set by the
    view; the area is named by codes, and the service refuses any outside the viewer's scope."""

    role = SelectField(
        _l("役割"), choices=[SelectChoice(key, label) for key, label in ROLE_CHOICES.items()]
    )
    district_code = StringField(_l("校区コード（推進員）"), validators=[Optional()])
    association_code = StringField(_l("自治会コード（役員・班長）"), validators=[Optional()])
    group_name = StringField(_l("班の名前（班長）"), validators=[Optional()])
    invitee_name = StringField(_l("名前（任意）"), validators=[Optional()])
    term_end = DateField(_l("任期の最後の日（任意）"), validators=[Optional()])

    def limit_roles(self, roles: list[str]) -> None:
        self.role.choices = [
            SelectChoice(key, label) for key, label in ROLE_CHOICES.items() if key in roles
        ]


class HandOverForm(FlaskForm):  # type: ignore[misc]
    invitee_name = StringField(_l("後任の名前（任意）"), validators=[Optional()])
    term_end = DateField(_l("後任の任期の最後の日（任意）"), validators=[Optional()])


class StaffFileForm(FlaskForm):  # type: ignore[misc]
    file = FileField(_l("職員の CSV（役割・範囲コード・班・氏名・任期）"))


class CircularFieldsForm(FlaskForm):  # type: ignore[misc]
    """What every circular has, new or a correction. The rules (lengths, 2–4 options, dates in
    the future) are broadcasts.composing.drafts': this form only parses, so the web and LINE
    agree."""

    title = StringField(_l("題名"))
    body = TextAreaField(_l("本文"))
    question = StringField(_l("質問（任意）"))
    question_kind = SelectField(
        _l("答え方"),
        choices=[
            SelectChoice("choice", _l("選択肢から選ぶ")),
            SelectChoice("headcount", _l("人数（0〜20人）")),
            SelectChoice("text", _l("ひとこと（200文字まで）")),
        ],
        default="choice",
    )
    option_1 = StringField(_l("選択肢1"))
    option_2 = StringField(_l("選択肢2"))
    option_3 = StringField(_l("選択肢3"))
    option_4 = StringField(_l("選択肢4"))
    answer_deadline = DateTimeLocalField(
        _l("回答のしめきり（任意）"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    event_date = DateField(_l("行事の日（任意）"), validators=[Optional()])
    confirmation_required = BooleanField(_l("「確認しました」ボタンをつける"), default=True)
    urgent = BooleanField(_l("至急（夜間でもすぐに届けます）"))
    one_per_household = BooleanField(_l("世帯でひとりが確認すれば、その世帯は確認済み"))
    files = MultipleFileField(_l("添付ファイル（PDF・写真 JPEG/PNG、1つ10MBまで）"))

    def option_fields(self) -> list[StringField]:
        return [self.option_1, self.option_2, self.option_3, self.option_4]


class ComposeForm(CircularFieldsForm):
    line_group_post = BooleanField(_l("自治会のLINEグループにも投稿"))

    # Ids are not checked against a list here: drafts.check_target refuses any the author may
    # not target, forged or not, with the message the author sees.
    districts = SelectMultipleField(coerce=id_value, validate_choice=False)
    associations = SelectMultipleField(coerce=id_value, validate_choice=False)
    groups = SelectMultipleField(coerce=id_value, validate_choice=False)
    interest_groups = SelectMultipleField(coerce=id_value, validate_choice=False)
    # Associations whose 「役員会」 (their staff) the circular goes to.
    staff_of = SelectMultipleField(coerce=id_value, validate_choice=False)


class InterestGroupForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("グループ名"), validators=[InputRequired()])
    posters = SelectField(
        _l("回覧を送れる人"),
        choices=[
            SelectChoice("officers", _l("役員みんな")),
            SelectChoice("creator", _l("作った人だけ（ICT推進員・管理者も送れます）")),
        ],
        default="officers",
    )


class ScheduleForm(FlaskForm):  # type: ignore[misc]
    scheduled_at = DateTimeLocalField(
        _l("送る日時（日本時間）"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()]
    )


# --- households on paper and watch-over -----------------------------------------------------------


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


# --- rolling out --------------------------------------------------------------------------------


class SaveTemplateForm(FlaskForm):  # type: ignore[misc]
    # Choices are the viewer's: their districts, and 「市全体」 for admins.
    district = SelectField(_l("だれが使えるか"), choices=[])


# --- safety checks ------------------------------------------------------------------------------


class SafetyForm(FlaskForm):  # type: ignore[misc]
    # Not checked against the choices here: compose.check_target refuses any area the viewer
    # may not target, forged or not, with the message they see.
    area = SelectField(_l("地域"), validate_choice=False)
    message = TextAreaField(_l("お知らせ文（空なら決まった文）"))


class ResidentLookupForm(FlaskForm):  # type: ignore[misc]
    """A resident's LINE user id, for a disclosure request (dashboard/privacy.py)."""

    line_user_id = StringField(_l("LINEユーザーID"), validators=[InputRequired()])


class EraseForm(ResidentLookupForm):
    """A deletion request: the id, and the admin's confirmation that it cannot be undone."""

    confirm = BooleanField(_l("元に戻せないことを確認しました"), validators=[InputRequired()])


# --- house labels -------------------------------------------------------------------------------


class HouseLabelForm(FlaskForm):  # type: ignore[misc]
    """A household's label; empty removes it. Its length and form are households.labels'."""

    label = StringField(_l("表示名"), validators=[Optional()])
    # Where the page was, so saving returns to it.
    page = IntegerField(validators=[Optional()])
    q = StringField(validators=[Optional()])


class LabelAnswerForm(FlaskForm):  # type: ignore[misc]
    """承認 or 却下 of a resident's request: the button pressed."""

    answer = SelectField(choices=["approve", "decline"])
    # The label the staff member read: a request changed since is not answered unseen.
    requested = StringField(validators=[InputRequired()])
    page = IntegerField(validators=[Optional()])
    q = StringField(validators=[Optional()])


class InboxAnswerForm(FlaskForm):  # type: ignore[misc]
    """An officer's answer to a resident (「自治会へ」); its length is inbox.answers'."""

    body = TextAreaField(_l("返信"), validators=[Optional()])


class InboxStatusForm(FlaskForm):  # type: ignore[misc]
    """A thread's status: 未対応 / 対応中 / 完了."""

    status = SelectField(choices=["open", "in_progress", "done"])
