"""The TwiML of a spoken reply: `<Say>` in the caller's language and voice, then a speech `<Gather>` (the gather's
sequence number in its action URL, so a Twilio retry is answered once), a `<Dial>` to the team, or `<Hangup>`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from jasping.agent.phrases import phrase
from jasping.channels.voice_speech import MAX_SAY, Line, base_language, gather_locale, say_voice
from jasping.config import get_settings
from jasping.conversations.models import Message

DIAL_TIMEOUT = 20  # seconds the team's phone rings before the caller is offered a call back
MAX_SILENCES = 2  # the second silence in a row ends the call


@dataclass(frozen=True)
class VoiceReply:
    """What the caller hears and what happens next: "gather" (listen again), "offer" (listen for yes/no to a call
    back), "dial" (put the call through to `dial`), "hangup"."""

    text: str
    lang: str
    action: str = "gather"
    dial: str | None = None
    menu: tuple[str, ...] = ()  # languages a key chooses (1 for the first…), offered with the greeting

    def meta(self) -> dict:
        return {"action": self.action, "lang": self.lang, "dial": self.dial, "menu": list(self.menu)}

    @classmethod
    def from_message(cls, message: Message, default_lang: str = "en") -> VoiceReply:
        voice = (message.meta or {}).get("voice") or {}
        lang = voice.get("lang") or (message.meta or {}).get("language") or default_lang
        menu = tuple(voice.get("menu") or ())
        return cls(message.text, lang, voice.get("action") or "gather", voice.get("dial"), menu)


def _url(path: str, **params: object) -> str:
    base = get_settings().base_url.rstrip("/")
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", 0)})
    return f"{base}/webhooks/twilio{path}" + (f"?{query}" if query else "")


def twiml(reply: VoiceReply, line: Line, *, seq: int, silent: int = 0) -> str:
    """The TwiML for `reply`; a gather's answer comes back with sequence number `seq`."""
    response = VoiceResponse()
    voice, language = say_voice(reply.lang, line)
    say = {"language": language, **({"voice": voice} if voice else {})}
    text = reply.text[:MAX_SAY]
    if reply.action in ("gather", "offer"):
        keys = {"input": "dtmf speech", "num_digits": 1} if reply.menu else {"input": "speech"}
        gather = response.gather(
            language=gather_locale(reply.lang, line.region),
            speech_timeout="auto",
            action=_url("/voice/gather", seq=seq, silent=silent, offer="callback" if reply.action == "offer" else None),
            method="POST",
            action_on_empty_result=True,
            **keys,
        )
        if text:
            gather.say(text, **say)
        for digit, lang in enumerate(reply.menu, 1):  # "Pour le français, appuyez sur 2", in French
            if lang != base_language(reply.lang):
                voice, language = say_voice(lang, line)
                gather.say(
                    phrase("voice_language_key", lang, digit=digit),
                    language=language,
                    **({"voice": voice} if voice else {}),
                )
        return str(response)
    if text:
        response.say(text, **say)
    if reply.action == "dial" and reply.dial:
        record = {"record": "record-from-answer-dual"} if line.record_calls else {}
        dial = response.dial(action=_url("/voice/dial-status", seq=seq), method="POST", timeout=DIAL_TIMEOUT, **record)
        dial.number(reply.dial)
        return str(response)
    response.hangup()
    return str(response)


def hangup_twiml() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)
