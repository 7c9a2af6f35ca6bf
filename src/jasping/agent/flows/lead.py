"""Lead capture by dialogue: a pure, deterministic state machine for one conversation (no database).

`start(settings, lang, prefill)` opens the flow and asks the first missing detail; `advance(flow, text, lang=…,
region=…)` consumes one customer message and returns a new flow and the agent's next `AgentStep`.

Contract of `advance`: it returns `(flow, None)` — "not for me" — when the message holds no usable value and asks
something else (a question, or to talk to a person), and when the flow is already finished; the flow returned is
the one given, unchanged. The turn loop then answers the message as usual, keeps the flow paused at the same step
and may append `reprompt(flow, lang)` to its answer.

Steps: "name" | "email" | "phone" | "custom:<name>" | "confirm" | "consent" | "done" | "cancelled". Every step has
intent "lead"; "done" carries `ToolCall("capture_lead", {...})`, and "cancelled" carries
`ToolCall("handoff_to_human", {"reason": "lead_capture_failed"})` when a required detail could not be taken after
`MAX_ATTEMPTS` tries (`flow.outcome` says "captured", "cancelled" or "handoff").
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

from jasping.agent.flows import contact_fields as cf
from jasping.agent.flows import flow_phrase
from jasping.agent.intents import detect_intent, normalize
from jasping.agent.llm.base import AgentStep, ToolCall

__all__ = ["MAX_ATTEMPTS", "LeadFlow", "LeadSettings", "advance", "extract_details", "reprompt", "start"]

MAX_ATTEMPTS = 3
CONTACT_FIELDS = ("name", "email", "phone")
_HINTS = {"name": "name", "email": "email", "phone": "phone", "confirm": "choice", "consent": "choice"}


@dataclass
class LeadSettings:
    """An agent's lead settings: fields to ask, extra business fields, and which contact details are required."""

    fields: list[str] = field(default_factory=lambda: list(CONTACT_FIELDS))
    custom_fields: list[dict] = field(default_factory=list)  # {"name", "label" (str or {lang: str}), "required"}
    require: str = "email_or_phone"  # "email_or_phone" | "both"

    @classmethod
    def from_dict(cls, data: dict | None) -> LeadSettings:
        """Settings from stored JSON, ignoring unknown fields and defaulting what is missing or invalid."""
        data = data or {}
        fields = [f for f in data.get("fields") or CONTACT_FIELDS if f in CONTACT_FIELDS]
        custom = [
            {"name": str(c["name"]), "label": c.get("label") or str(c["name"]), "required": bool(c.get("required"))}
            for c in data.get("custom_fields") or []
            if isinstance(c, dict) and c.get("name")
        ]
        require = data.get("require") if data.get("require") in ("email_or_phone", "both") else "email_or_phone"
        return cls(fields=list(dict.fromkeys(fields)), custom_fields=custom, require=require)


@dataclass
class LeadFlow:
    """The state of one lead capture; `to_dict()` / `from_dict()` round-trip through JSON."""

    step: str
    fields: list[str]
    custom_fields: list[dict]
    require: str = "email_or_phone"
    language: str = "en"
    values: dict[str, str] = field(default_factory=dict)  # name, email (normalised), phone (E.164)
    custom: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    correcting: bool = False  # "No" at the read-back: waiting for the detail to correct
    confirmed: bool = False
    consent: bool | None = None
    outcome: str | None = None  # "captured" | "cancelled" | "handoff"

    @property
    def required(self) -> list[str]:
        """The details that must be collected ("email|phone" when either one is enough)."""
        contacts = [f for f in ("email", "phone") if f in self.fields]
        out = contacts if self.require == "both" or len(contacts) < 2 else ["email|phone"]
        return out + [f"custom:{c['name']}" for c in self.custom_fields if c.get("required")]

    def to_dict(self) -> dict:
        """A JSON-able copy of the state."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LeadFlow:
        """The state saved by `to_dict()`."""
        return cls(**{k: copy.deepcopy(v) for k, v in data.items() if k in cls.__dataclass_fields__})


def _custom_def(flow: LeadFlow, step: str) -> dict:
    name = step.removeprefix("custom:")
    return next((c for c in flow.custom_fields if c["name"] == name), {"name": name})


def _label(custom: dict, lang: str) -> str:
    label = custom.get("label") or custom["name"]
    if isinstance(label, dict):
        return label.get(cf.base_language(lang)) or label.get("en") or next(iter(label.values()), custom["name"])
    return str(label)


def _has(flow: LeadFlow, step: str) -> bool:
    return step in flow.values or (step.startswith("custom:") and step[7:] in flow.custom)


def _optional(flow: LeadFlow, step: str) -> bool:
    """Whether giving up on `step` may skip it (the name never blocks a lead; email and phone replace each other)."""
    if step in ("email", "phone"):
        other = "phone" if step == "email" else "email"
        return flow.require != "both" and other in flow.fields and other not in flow.skipped
    return step == "name" or not _custom_def(flow, step).get("required")


def _missing(flow: LeadFlow) -> list[str]:
    """The fields still to ask, in the order of `flow.fields` (a callback asks the number first)."""
    contacts = [f for f in flow.fields if f in ("email", "phone") and f not in flow.skipped]
    have_contact = any(f in flow.values for f in ("email", "phone"))
    out = []
    for f in flow.fields:
        if f == "name" and f not in flow.values and f not in flow.skipped:
            out.append(f)
        elif (
            f in contacts
            and f not in flow.values
            and (flow.require == "both" or (not have_contact and f == contacts[0]))
        ):
            out.append(f)
    customs = (f"custom:{c['name']}" for c in flow.custom_fields)
    return out + [s for s in customs if not _has(flow, s) and s not in flow.skipped]


def _next(flow: LeadFlow) -> str:
    missing = _missing(flow)
    return missing[0] if missing else "consent" if flow.confirmed else "confirm"


def _details(flow: LeadFlow, lang: str) -> str:
    parts = [cf.speak_phone(v, lang) if f == "phone" else v for f in CONTACT_FIELDS if (v := flow.values.get(f))]
    colon = " :" if cf.base_language(lang) == "fr" else ":"
    customs = [c for c in flow.custom_fields if c["name"] in flow.custom]
    parts += [f"{_label(c, lang)}{colon} {flow.custom[c['name']]}" for c in customs]
    return flow_phrase("sep", lang).join(parts)


def _thanks(flow: LeadFlow, lang: str, named: bool = True) -> str:
    name = flow.values.get("name") if named else None
    return flow_phrase("thanks_name", lang, name=name) if name else flow_phrase("thanks", lang)


def _ask(flow: LeadFlow, lang: str, lead_in: str = "") -> AgentStep:
    """The question for the flow's current step, after `lead_in`, with its input hint and quick replies."""
    step, replies = flow.step, []
    yes_no = [flow_phrase("qr_yes", lang), flow_phrase("qr_no", lang)]
    if step in ("name", "phone"):
        text = flow_phrase(f"ask_{step}", lang)
    elif step == "email":
        either = _optional(flow, "email") and "phone" not in flow.values
        text = flow_phrase("ask_email_or_phone" if either else "ask_email", lang)
        replies = [flow_phrase("qr_phone_instead", lang)] if either else []
    elif step.startswith("custom:"):
        label = _label(_custom_def(flow, step), lang)
        text = label if label.rstrip().endswith(("?", "؟")) else flow_phrase("ask_custom", lang, label=label)
        replies = [flow_phrase("qr_skip", lang)] if _optional(flow, step) else []
    elif step == "confirm" and flow.correcting:
        text = flow_phrase("which", lang)
        replies = [flow_phrase(f"field_{f}", lang) for f in CONTACT_FIELDS if f in flow.fields]
        replies += [_label(c, lang) for c in flow.custom_fields]
    elif step == "confirm":
        text, replies = flow_phrase("read_back", lang, details=_details(flow, lang)), yes_no
    else:
        text, replies = flow_phrase("consent", lang), yes_no
    text = f"{lead_in} {text}" if lead_in else text
    return AgentStep(text, quick_replies=replies, input_hint=_HINTS.get(step, "text"), intent="lead", language=lang)


def extract_details(text: str, *, lang: str, region: str | None = None) -> dict:
    """Name (only when introduced: "je suis Karim"), email and phone found in a message, e.g. the triggering one."""
    name = cf.parse_name(cf.strip_contacts(text, region), lang)
    found = {"name": name, "email": cf.parse_email(text), "phone": cf.parse_phone(text, region)}
    return {k: v for k, v in found.items() if v}


def start(
    settings: LeadSettings, lang: str, prefill: dict | None = None, *, region: str | None = None
) -> tuple[LeadFlow, AgentStep]:
    """Open a lead capture, keeping the valid `prefill` values ({"name", "email", "phone", "custom": {...}})."""
    prefill = prefill or {}
    customs = [dict(c) for c in settings.custom_fields]
    flow = LeadFlow("", list(settings.fields), customs, require=settings.require, language=lang)
    checks = {"name": lambda v: " ".join(v.split()), "email": cf.parse_email}
    checks["phone"] = lambda v: cf.parse_phone(v, region)
    for name, check in checks.items():
        if name in flow.fields and prefill.get(name) and (value := check(str(prefill[name]))):
            flow.values[name] = value
    for c in flow.custom_fields:
        if value := " ".join(str((prefill.get("custom") or {}).get(c["name"]) or "").split()):
            flow.custom[c["name"]] = value
    flow.step = _next(flow)
    lead_in = flow_phrase("intro", lang)
    return flow, _ask(flow, lang, f"{_thanks(flow, lang)} {lead_in}" if "name" in flow.values else lead_in)


def reprompt(flow: LeadFlow, lang: str) -> AgentStep:
    """The pending question again, for the turn loop to append after answering a question asked mid-flow."""
    return _ask(flow, lang, flow_phrase("resume", lang))


def advance(flow: LeadFlow, text: str, *, lang: str, region: str | None = None) -> tuple[LeadFlow, AgentStep | None]:
    """One customer message: a new flow and the next step, or `(flow, None)` when the message is not for the flow."""
    if flow.step in ("done", "cancelled", ""):
        return flow, None
    new = LeadFlow.from_dict(flow.to_dict())
    new.language, text = lang, text or ""
    if new.step == "consent":
        return _consent(new, flow, text, lang)
    words = len(normalize(text).split())
    if words <= (3 if new.step.startswith("custom:") else 8) and cf.has_phrase(text, cf.CANCEL) is not None:
        return _cancel(new, lang)
    if new.step == "confirm":
        return _confirm(new, flow, text, lang, region)
    return _collect(new, flow, text, lang, region)


def _cancel(flow: LeadFlow, lang: str) -> tuple[LeadFlow, AgentStep]:
    flow.step = flow.outcome = "cancelled"
    return flow, AgentStep(flow_phrase("cancelled", lang), intent="lead", language=lang)


def _store(flow: LeadFlow, text: str, lang: str, region: str | None, *, overwrite: bool, name: str) -> list[str]:
    """Store the details found in `text` (a name: "yes" when introduced, "asked" bare too, "no"); what changed."""
    found = {"email": cf.parse_email(text), "phone": cf.parse_phone(text, region)}
    if name != "no":
        found["name"] = cf.parse_name(cf.strip_contacts(text, region), lang, asked=name == "asked")
    changed = []
    for key, value in found.items():
        old = flow.values.get(key)
        if value and key in flow.fields and value != old and (overwrite or not old or key == flow.step):
            flow.values[key] = value
            changed.append(key)
    return changed


def _collect(flow: LeadFlow, before: LeadFlow, text: str, lang: str, region: str | None):
    """A message while a detail (name, email, phone or custom field) is awaited."""
    awaited, other = flow.step, {"email": "phone", "phone": "email"}.get(flow.step)
    optional, skip = _optional(flow, awaited), cf.has_phrase(text, cf.SKIP) is not None
    if awaited.startswith("custom:"):
        if cf.reads_as_question(text, lang):
            return before, None
        if text.strip() and not (optional and skip):
            flow.custom[awaited[7:]] = " ".join(text.split())[:300]
            flow.attempts.pop(awaited, None)
            flow.step = _next(flow)
            return flow, _ask(flow, lang)
    elif changed := _store(flow, text, lang, region, overwrite=False, name="asked" if awaited == "name" else "yes"):
        done = awaited in changed or (awaited not in _missing(flow) and not _has(before, awaited))
        flow.step = _next(flow) if done else awaited
        if done:
            flow.attempts.pop(awaited, None)
        lead_in = "" if flow.step in ("confirm", "consent") else _thanks(flow, lang, named="name" in changed)
        return flow, _ask(flow, lang, lead_in)
    open_other = other is not None and other in flow.fields and other not in flow.values
    if open_other and not cf.looks_like_phone(text) and not cf.looks_like_email(text):
        if cf.has_phrase(text, cf.FIELD_WORDS[other]) is not None:  # "I'd rather give my phone"
            flow.skipped = [s for s in flow.skipped if s != other] + ([awaited] if optional else [])
            flow.step = other
            return flow, _ask(flow, lang)
    if optional and skip:
        return _skip(flow, awaited, lang)
    if cf.reads_as_question(text, lang):
        return before, None
    if detect_intent(text, lang) in ("greeting", "thanks", "goodbye", "lead"):
        return flow, _ask(flow, lang)
    looks = {"email": cf.looks_like_email(text), "phone": cf.looks_like_phone(text)}
    if open_other and looks[other] and not looks[awaited]:
        awaited = flow.step = other  # a broken phone number where an email was asked, or the reverse
    elif optional and cf.parse_yes_no(text, lang) is False:
        return _skip(flow, awaited, lang)
    flow.attempts[awaited] = flow.attempts.get(awaited, 0) + 1
    if flow.attempts[awaited] < MAX_ATTEMPTS:
        return flow, _reask(flow, awaited, looks, lang)
    if _has(flow, awaited):  # correcting a detail we already have: keep the old value
        flow.step = _next(flow)
        return flow, _ask(flow, lang)
    if _optional(flow, awaited):
        return _skip(flow, awaited, lang)
    flow.step, flow.outcome = "cancelled", "handoff"
    call = ToolCall("handoff_to_human", {"reason": "lead_capture_failed"})
    return flow, AgentStep(flow_phrase("give_up", lang), tool_calls=[call], intent="lead", language=lang)


def _skip(flow: LeadFlow, step: str, lang: str) -> tuple[LeadFlow, AgentStep]:
    flow.skipped.append(step)
    flow.step = _next(flow)
    return flow, _ask(flow, lang, flow_phrase("phone_instead" if flow.step == "phone" else "skipped", lang))


def _reask(flow: LeadFlow, awaited: str, looks: dict[str, bool], lang: str) -> AgentStep:
    """The awaited question again, after why the answer was not usable."""
    if awaited.startswith("custom:"):
        return _ask(flow, lang, flow_phrase("bad_custom", lang))
    step = _ask(flow, lang)
    step.text = flow_phrase(f"{'bad' if looks.get(awaited, True) else 'no'}_{awaited}", lang)
    return step


def _field_choice(flow: LeadFlow, text: str, lang: str) -> str | None:
    """The detail the customer wants to correct ("le téléphone", "Email", a custom field's label)."""
    words = {f: cf.FIELD_WORDS[f] for f in CONTACT_FIELDS if f in flow.fields}
    for c in flow.custom_fields:
        words[f"custom:{c['name']}"] = {normalize(c["name"]), normalize(_label(c, lang))} - {""}
    hits = [(at, key) for key, phrases in words.items() if (at := cf.has_phrase(text, phrases)) is not None]
    return min(hits)[1] if hits else None


def _confirm(flow: LeadFlow, before: LeadFlow, text: str, lang: str, region: str | None):
    """A message after the read-back: yes, no, a corrected value, or the detail to correct."""
    answer = cf.parse_yes_no(text, lang)
    choice = _field_choice(flow, text, lang) if flow.correcting or answer is False else None
    name = "no" if answer is True else "asked" if flow.correcting and not choice else "yes"
    if _store(flow, text, lang, region, overwrite=True, name=name):
        flow.correcting = False
        flow.step = _next(flow)
    elif choice:
        flow.correcting = False
        flow.attempts.pop(choice, None)
        flow.step = choice
    elif answer is not None:
        flow.correcting, flow.confirmed = not answer, answer
        flow.step = _next(flow)
    elif cf.reads_as_question(text, lang):
        return before, None
    else:
        return flow, _ask(flow, lang, "" if flow.correcting else flow_phrase("yes_or_no", lang))
    return flow, _ask(flow, lang)


def _consent(flow: LeadFlow, before: LeadFlow, text: str, lang: str) -> tuple[LeadFlow, AgentStep | None]:
    """A message after "May we contact you?": the lead is captured either way, with the consent given."""
    answer = cf.parse_yes_no(text, lang)
    if answer is None:
        if len(normalize(text).split()) <= 8 and cf.has_phrase(text, cf.CANCEL) is not None:
            return _cancel(flow, lang)
        if cf.reads_as_question(text, lang):
            return before, None
        flow.attempts["consent"] = flow.attempts.get("consent", 0) + 1
        if flow.attempts["consent"] < MAX_ATTEMPTS:
            return flow, _ask(flow, lang, flow_phrase("yes_or_no", lang))
        answer = False  # no clear yes: keep the details only to answer this request
    flow.consent, flow.step, flow.outcome = answer, "done", "captured"
    details = {key: flow.values.get(key) for key in CONTACT_FIELDS}
    lead = {**details, "custom": dict(flow.custom), "consent": answer, "language": lang}
    text = f"{_thanks(flow, lang)} {flow_phrase('done', lang)}" if answer else flow_phrase("done_no_consent", lang)
    return flow, AgentStep(text, tool_calls=[ToolCall("capture_lead", lead)], intent="lead", language=lang)
