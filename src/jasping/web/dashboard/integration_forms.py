"""The dashboard's connect forms, built from each integration type's pydantic model: one input per field (a
password input for a secret, a number for an int, a list for a choice, boxes for a list of choices), what was
typed read back, and each problem the model finds said in plain words next to its field.

A new type gets a working form without template code; `LABELS` and `HELP` only make its words human (English keys
translated in `locale_fr.FR`); a field without a label gets its name, spelled out.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from jasping.integrations.service import Kind
from jasping.web.dashboard.i18n import translator

Value = str | bool | list[str]

# A type's field name, or (type, field name) for a type's own wording; the English text is the translation key.
LABELS: dict[str | tuple[str, str], str] = {
    "name": "Name",
    ("caldav", "url"): "Server address",
    ("webhook", "url"): "URL that receives the leads",
    "username": "User name",
    "password": "Password",
    "calendar": "Calendar",
    "host": "SMTP server",
    "port": "Port",
    "security": "Security",
    "from_address": "Sender address",
    "from_name": "Sender name",
    "uses": "Use this Google account for",
    "calendar_id": "Google calendar",
    "spreadsheet_id": "Spreadsheet ID",
    "sheet_name": "Sheet (tab) name",
    "drive_folder": "Drive folder",
    "send_as": "Send as",
    "signing_secret": "Signing secret",
    "access_token": "Access token",
    "refresh_token": "Refresh token",
    "expires_at": "Token expiry",
    "scope": "Scopes granted",
}
HELP: dict[str | tuple[str, str], str] = {
    "name": "To tell several apart, such as Main calendar.",
    ("caldav", "url"): "The CalDAV address your calendar app shows, such as https://cloud.example.com/remote.php/dav.",
    ("caldav", "password"): "An app password made for JasPing in your calendar's settings, rather than your own.",
    "calendar": "Its name as shown in your calendar app, or its full URL.",
    ("webhook", "url"): "Each new lead is sent there as signed JSON (an http:// or https:// address).",
    "host": "Such as smtp.example.com, without https:// or a port.",
    "port": "587 with STARTTLS, 465 with SSL/TLS.",
    "from_address": "Such as bookings@your-business.com.",
    "from_name": "Shown as the sender; the business's name otherwise.",
    "calendar_id": "For Calendar: primary is the account's main calendar; or a calendar ID from Google Calendar's "
    "settings.",
    "spreadsheet_id": "For Sheets: the long part of the spreadsheet's URL, between /d/ and /edit.",
    "sheet_name": "For Sheets: the tab leads are added to; its header row is created.",
    "drive_folder": "For Drive: the folder made for the files customers send.",
    "send_as": "For Gmail: the From address, the account's own or one of its aliases.",
}
OPTIONS: dict[str, str] = {  # the words of a choice's values
    "starttls": "STARTTLS (port 587)",
    "ssl": "SSL/TLS (port 465)",
    "none": "None (not encrypted)",
    "calendar": "Calendar: busy times block slots, bookings become events",
    "sheets": "Sheets: each lead is added as a row",
    "drive": "Drive: files customers send are copied to a folder",
    "gmail": "Gmail: confirmations and reminders are sent from your address",
}
INPUT_HINTS = {"url": "url", "from_address": "email", "send_as": "email"}
# what a pattern means, field by field, and the plain words for the models' own messages (by their start)
_PATTERN = {
    "url": "Give the address starting with https://, such as https://cal.example.com/dav/.",
    "host": "Give a host name such as smtp.example.com, without https:// or a port.",
    "spreadsheet_id": "Give the spreadsheet ID: the long part of its URL, between /d/ and /edit.",
}
_MESSAGES = {
    "not an email address": "Give an email address, such as bookings@your-business.com.",
    "value is not a valid email address": "Give an email address, such as bookings@your-business.com.",
    "give the id of the spreadsheet": "Give the spreadsheet ID: the long part of its URL, between /d/ and /edit.",
    "give the address mail is sent from": "Give the address mail is sent from.",
    "give an http:// or https:// url": "Give an http:// or https:// URL.",
    "the url has no host name": "The URL has no host name.",
    "put no user name or password in the url": "Put no user name or password in the URL: the signature proves "
    "the leads come from JasPing.",
    "the url contains spaces": "The URL contains spaces.",
}
MAX_KEPT = 300  # a value shown again is cut to this length


@dataclass(frozen=True)
class FieldSpec:
    """One input of a connect form."""

    name: str
    input: str  # text | password | url | email | number | select | checkbox | checkboxes
    required: bool
    default: Value
    options: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None


def _unwrap(annotation: Any) -> Any:
    """`X | None` → X."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _meta(info: FieldInfo, attr: str) -> int | None:
    for item in info.metadata:
        value = getattr(item, attr, None)
        if isinstance(value, int):
            return value
    return None


def field_spec(kind: Kind, name: str, info: FieldInfo) -> FieldSpec:
    annotation = _unwrap(info.annotation)
    options: tuple[str, ...] = ()
    if get_origin(annotation) is Literal:
        input_, options = "select", tuple(str(a) for a in get_args(annotation))
    elif get_origin(annotation) is list and get_origin(_unwrap(get_args(annotation)[0])) is Literal:
        input_, options = "checkboxes", tuple(str(a) for a in get_args(get_args(annotation)[0]))
    elif annotation is bool:
        input_ = "checkbox"
    elif annotation is int:
        input_ = "number"
    elif name in kind.secrets:
        input_ = "password"
    else:
        input_ = INPUT_HINTS.get(name, "text")
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    if input_ == "checkboxes":
        default = [str(v) for v in default or []]
    elif input_ == "checkbox":
        default = bool(default)
    else:
        default = "" if default is None or input_ == "password" else str(default)
    return FieldSpec(
        name=name,
        input=input_,
        required=info.is_required(),
        default=default,
        options=options,
        minimum=_meta(info, "ge"),
        maximum=_meta(info, "le"),
        max_length=_meta(info, "max_length"),
    )


def specs(kind: Kind) -> list[FieldSpec]:
    return [field_spec(kind, name, info) for name, info in kind.model.model_fields.items()]


def label(kind_type: str, name: str) -> str:
    return LABELS.get((kind_type, name)) or LABELS.get(name) or name.replace("_", " ").capitalize()


def help_text(kind_type: str, name: str) -> str:
    return HELP.get((kind_type, name)) or HELP.get(name, "")


def submitted(kind: Kind, form: FormData) -> dict[str, Value]:
    """What the person typed in the form of `kind` (and the integration's name), trimmed."""
    values: dict[str, Value] = {"name": _text(form.get("name"))}
    for spec in specs(kind):
        if spec.input == "checkbox":
            values[spec.name] = bool(form.get(spec.name))
        elif spec.input == "checkboxes":
            values[spec.name] = [v for v in form.getlist(spec.name) if isinstance(v, str)][:20]
        else:
            values[spec.name] = _text(form.get(spec.name))
    return values


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def body_of(kind: Kind, values: dict[str, Value]) -> dict[str, Any]:
    """The settings to check with the kind's model: an empty optional field is left out (its default applies)."""
    required = {s.name for s in specs(kind) if s.required}
    return {
        name: value
        for name, value in values.items()
        if name != "name" and (name in required or value not in ("", None))
    }


def kept(kind: Kind, values: dict[str, Value]) -> dict[str, Value]:
    """What is shown again in the form: everything but the secrets."""
    secret = set(kind.secrets) | {s.name for s in specs(kind) if s.input == "password"}
    return {
        name: value[:MAX_KEPT] if isinstance(value, str) else value
        for name, value in values.items()
        if name not in secret
    }


def defaults(kind: Kind) -> dict[str, Value]:
    return {"name": "", **{s.name: s.default for s in specs(kind)}}


def problems(kind: Kind, errors: list[dict], values: dict[str, Value], lang: str) -> dict[str, str]:
    """Each field's first problem, in plain words in `lang` (the form's field names as keys; "" for the form)."""
    _ = translator(lang)
    by_name = {s.name: s for s in specs(kind)}
    found: dict[str, str] = {}
    for err in errors:
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        text = str(err.get("msg", "")).removeprefix("Value error, ")
        field = loc[0] if loc else ""
        named = re.match(r"^(\w+): (.+)$", text)
        if not field and named and named.group(1) in by_name:  # a check of the whole model names its field
            field, text = named.group(1), named.group(2)
        if field in found:
            continue
        found[field] = _message(by_name.get(field), err, text, values.get(field), _)
    return found


def _message(spec: FieldSpec | None, err: dict, text: str, value: Value | None, _: Any) -> str:
    kind = err.get("type", "")
    if spec is not None and spec.input == "checkboxes" and not value:
        return _("Choose at least one.")
    if spec is not None and spec.required and value in ("", None):
        return _("Fill in this field.")
    if kind == "string_pattern_mismatch" and spec is not None and spec.name in _PATTERN:
        return _(_PATTERN[spec.name])
    if kind == "string_too_short":
        return _("Too short: at least {n} characters.").format(n=(err.get("ctx") or {}).get("min_length", "?"))
    if kind == "string_too_long":
        return _("Too long: at most {n} characters.").format(n=(err.get("ctx") or {}).get("max_length", "?"))
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return _("Give a whole number.")
    if kind in ("greater_than_equal", "less_than_equal") and spec is not None:
        return _("Give a number between {low} and {high}.").format(low=spec.minimum, high=spec.maximum)
    if kind in ("literal_error", "enum"):
        return _("Choose one of the options.")
    lowered = text.lower()
    for start, plain in _MESSAGES.items():
        if lowered.startswith(start):
            return _(plain)
    return _(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))


def shown_setting(value: object) -> str:
    """A stored setting, as text for the list (a list of choices joined)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
