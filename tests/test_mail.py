"""Outgoing email against a real SMTP server (aiosmtpd, started here): the booking confirmation with text, HTML and
an ICS at the booked instant (Paris, Casablanca), a move and a cancellation of the same event, Arabic that survives
the trip, the file outbox without SMTP, and an SMTP server that is down: retried, dead, then sent again."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select, text

import jasping  # noqa: F401  (one time-zone source: the tzdata package)
from jasping import clock
from jasping.agents.models import Agent
from jasping.config import get_settings
from jasping.db import get_engine, new_id, session_scope
from jasping.errors import Invalid
from jasping.integrations import mail, mail_outbox
from jasping.integrations.mail_models import Email
from jasping.jobs import tasks
from jasping.scheduling.models import Appointment
from jasping.security.audit import Actor
from jasping.tenancy import service as tenancy

# ---- a real SMTP server --------------------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def messages(self) -> list[email.message.EmailMessage]:
        # aiosmtpd hands over the old policy; parse the bytes again with the modern one
        return [email.message_from_bytes(raw, policy=email.policy.default) for _, _, raw in self.received]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port, self.inbox, self.controller = port, Inbox(), None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=bookings@jasping.example&timeout=5"

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def _use_smtp(monkeypatch, url: str | None) -> None:
    if url:
        monkeypatch.setenv("JASPING_SMTP_URL", url)
    else:
        monkeypatch.delenv("JASPING_SMTP_URL", raising=False)
    get_settings.cache_clear()


@pytest.fixture
def immediate(monkeypatch) -> None:
    from jasping.jobs.queue import huey

    monkeypatch.setattr(huey, "immediate", True)  # a job queued after a commit runs right away, in this thread


@pytest.fixture
def smtp(monkeypatch, immediate) -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    _use_smtp(monkeypatch, server.url)
    yield server
    server.stop()
    monkeypatch.delenv("JASPING_SMTP_URL", raising=False)
    get_settings.cache_clear()


# ---- a business with an agent --------------------------------------------------------------------------------------


def make_business(*, tz: str = "Europe/Paris", name: str = "Salon Yasmine", contact: str | None = None) -> tuple:
    with session_scope() as s:
        n = new_id("u")
        user = tenancy.create_user(s, email=f"owner-{n}@example.org", password="correct horse battery")
        org = tenancy.create_organization(s, name=name, owner=user, actor=Actor("user", user.id), timezone="UTC")
        org.contact_email = contact
        agent = Agent(id=new_id("agt"), org_id=org.id, name="Front desk", public_key=new_id("pk"))
        agent.booking = {"tz": tz, "services": [], "hours": {}}
        s.add(agent)
        return org.id, agent.id, user.email


def book(org_id: str, agent_id: str, start: datetime, *, email_to: str | None = "fatima@client.example", **kw):
    """Store an appointment and queue its confirmation in the same transaction (as the booking service does)."""
    with session_scope(org_id) as s:
        appointment = Appointment(
            id=new_id("apt"),
            org_id=org_id,
            agent_id=agent_id,
            service_id="cut",
            service_name=kw.pop("service", "Coupe"),
            start=start,
            end=start + timedelta(minutes=45),
            busy_until=start + timedelta(minutes=45),
            name=kw.pop("name", "Fatima Zahra"),
            email=email_to,
            language=kw.pop("language", "fr"),
        )
        s.add(appointment)
        s.flush()
        mail.queue_appointment_mail(s, appointment, "confirmation")
        return appointment.id


def update(org_id: str, appointment_id: str, event: str, *, start: datetime | None = None, email_to: str) -> None:
    with session_scope(org_id) as s:
        appointment = s.get(Appointment, appointment_id)
        if start is not None:
            appointment.start, appointment.end = start, start + timedelta(minutes=45)
        if event == "cancellation":
            appointment.status = "cancelled"
        appointment.email = email_to
        mail.queue_appointment_mail(s, appointment, event)


def states() -> list[tuple[str, int]]:
    with get_engine().connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT state, attempts FROM emails ORDER BY created_at, id"))]


def invitation(message: email.message.EmailMessage) -> tuple[Calendar, email.message.EmailMessage]:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content()), part


# ---- the tests -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "start"),
    [
        ("Europe/Paris", datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),  # 10:00 CEST, the day after the change
        ("Africa/Casablanca", datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),  # 10:00 during Ramadan (+00:00)
        ("Africa/Casablanca", datetime(2026, 4, 6, 9, 0, tzinfo=UTC)),  # 10:00 after Ramadan (+01:00)
    ],
)
def test_the_confirmation_has_text_html_and_an_invitation_at_the_booked_instant(db_url, smtp, tz, start) -> None:
    org_id, agent_id, _ = make_business(tz=tz, contact="contact@salon.example")
    appointment_id = book(org_id, agent_id, start)

    [(sender, rcpt, _)] = smtp.inbox.received
    assert sender == "bookings@jasping.example" and rcpt == ["fatima@client.example"]
    [message] = smtp.inbox.messages()
    assert message["To"].addresses[0].addr_spec == "fatima@client.example"
    assert (
        message["Reply-To"] == "contact@salon.example" and message["From"].addresses[0].display_name == "Salon Yasmine"
    )
    assert message["Subject"].startswith("Rendez-vous confirmé") and "10h" in message["Subject"]
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert "Fatima Zahra" in plain.get_content() and "Coupe" in plain.get_content() and tz in plain.get_content()
    assert 'lang="fr"' in html.get_content() and "Votre rendez-vous est confirmé" in html.get_content()

    cal, part = invitation(message)
    assert part.get_params()[1:] == [("method", "REQUEST"), ("charset", "utf-8")]
    assert part.get_filename() == "invite.ics"
    event = cal.events[0]
    assert cal["method"] == "REQUEST" and event["uid"] == f"{appointment_id}@jasping" and event["sequence"] == 0
    begins = event.decoded("dtstart")
    assert event["dtstart"].params["TZID"] == tz and begins.hour == 10 and begins.astimezone(UTC) == start
    assert [t["tzid"] for t in cal.timezones] == [tz]
    assert str(event["attendee"]) == "mailto:fatima@client.example"
    assert str(event["organizer"]) == "mailto:contact@salon.example"
    assert states() == [("sent", 1)]


def test_a_move_and_a_cancellation_update_the_same_event(db_url, smtp) -> None:
    org_id, agent_id, _ = make_business(tz="Europe/Paris")
    start = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    appointment_id = book(org_id, agent_id, start, language="en")
    update(org_id, appointment_id, "confirmation", start=start + timedelta(days=1), email_to="fatima@client.example")
    update(org_id, appointment_id, "cancellation", email_to="fatima@client.example")

    booked, moved, cancelled = smtp.inbox.messages()
    assert booked["Subject"].startswith("Appointment confirmed") and moved["Subject"].startswith("Appointment moved")
    assert cancelled["Subject"].startswith("Appointment cancelled")
    events = [invitation(m)[0] for m in (booked, moved, cancelled)]
    assert [c["method"] for c in events] == ["REQUEST", "REQUEST", "CANCEL"]
    assert {str(c.events[0]["uid"]) for c in events} == {f"{appointment_id}@jasping"}
    assert [c.events[0]["sequence"] for c in events] == [0, 1, 2]
    assert events[1].events[0].decoded("dtstart").astimezone(UTC) == start + timedelta(days=1)
    assert events[2].events[0]["status"] == "CANCELLED"
    assert invitation(cancelled)[1].get_param("method") == "CANCEL"
    assert "has been cancelled" in cancelled.get_body(("plain",)).get_content()
    link = "http://testserver/appointments/manage/" + appointment_id
    assert link in booked.get_body(("plain",)).get_content() and link in moved.get_body(("html",)).get_content()
    assert "/appointments/manage/" not in cancelled.get_body(("html",)).get_content()  # nothing left to change


def test_a_reminder_has_no_invitation_and_is_queued_once(db_url, smtp) -> None:
    org_id, agent_id, _ = make_business()
    appointment_id = book(org_id, agent_id, datetime(2026, 12, 8, 9, 0, tzinfo=UTC), language="en")
    update(org_id, appointment_id, "reminder", email_to="fatima@client.example")
    update(org_id, appointment_id, "reminder", email_to="fatima@client.example")
    _, reminder = smtp.inbox.messages()
    assert reminder["Subject"].startswith("Reminder: Coupe, Tuesday 8 December at 10:00")
    assert not [p for p in reminder.walk() if p.get_content_type() == "text/calendar"]
    assert len(states()) == 2


def test_arabic_survives_the_trip_and_reads_right_to_left(db_url, smtp) -> None:
    org_id, agent_id, _ = make_business(tz="Africa/Casablanca", name="صالون ياسمين")
    book(org_id, agent_id, datetime(2026, 12, 8, 9, 0, tzinfo=UTC), language="ar", name="فاطمة الزهراء")
    [(_, _, raw)] = smtp.inbox.received
    assert raw.isascii() and b"=?utf-8?" in raw  # RFC 2047 headers, quoted-printable bodies: 7-bit clean
    [message] = smtp.inbox.messages()
    assert message["Subject"].startswith("تم تأكيد موعدك") and message["Subject"].endswith("صالون ياسمين")
    assert message["To"].addresses[0].display_name == "فاطمة الزهراء"
    assert message["From"].addresses[0].display_name == "صالون ياسمين"
    html = message.get_body(("html",)).get_content()
    assert 'dir="rtl"' in html and 'lang="ar"' in html and "مرحبا فاطمة الزهراء" in html
    assert "الخدمة: Coupe" in message.get_body(("plain",)).get_content()
    assert invitation(message)[0].events[0]["attendee"].params["CN"] == "فاطمة الزهراء"


def test_customer_input_is_escaped_in_html(db_url, smtp) -> None:
    org_id, agent_id, _ = make_business(name="Salon & Co")
    book(org_id, agent_id, datetime(2026, 12, 8, 9, 0, tzinfo=UTC), name='<img src=x onerror="alert(1)">\r\nBcc: x')
    [message] = smtp.inbox.messages()
    html = message.get_body(("html",)).get_content()
    assert "<img" not in html and "&lt;img src=x" in html and "Salon &amp; Co" in html
    assert message["Bcc"] is None and "\n" not in message["To"]


def test_no_address_no_mail_and_a_bad_one_is_skipped(db_url, smtp) -> None:
    org_id, agent_id, _ = make_business()
    book(org_id, agent_id, datetime(2026, 12, 8, 9, 0, tzinfo=UTC), email_to=None)
    book(org_id, agent_id, datetime(2026, 12, 8, 10, 0, tzinfo=UTC), email_to="not an address")
    assert smtp.inbox.received == [] and states() == []
    with session_scope(org_id) as s, pytest.raises(ValueError, match="event must be"):
        mail.queue_appointment_mail(s, s.execute(select(Appointment)).scalars().first(), "party")


def test_nothing_is_sent_when_the_transaction_rolls_back(db_url, smtp) -> None:
    org_id, agent_id, _ = make_business()
    with pytest.raises(RuntimeError), session_scope(org_id) as s:
        appointment = Appointment(
            id=new_id("apt"), agent_id=agent_id, service_id="cut", service_name="Coupe",
            start=datetime(2026, 12, 8, 9, 0, tzinfo=UTC), end=datetime(2026, 12, 8, 10, 0, tzinfo=UTC),
            busy_until=datetime(2026, 12, 8, 10, 0, tzinfo=UTC), language="en", email="fatima@client.example",
        )  # fmt: skip
        s.add(appointment)
        s.flush()
        mail.queue_appointment_mail(s, appointment, "confirmation")
        raise RuntimeError("the booking failed after the mail was queued")
    assert smtp.inbox.received == [] and states() == []


def test_recipient_and_message_are_encrypted_at_rest(db_url, monkeypatch, immediate) -> None:
    _use_smtp(monkeypatch, None)
    org_id, agent_id, _ = make_business()
    book(org_id, agent_id, datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
    with get_engine().connect() as conn:
        to, body = conn.execute(text('SELECT "to", body FROM emails')).one()
    assert "fatima" not in to and "Fatima" not in body and "VCALENDAR" not in body


def test_without_smtp_the_mail_is_written_to_the_outbox(db_url, monkeypatch, immediate) -> None:
    _use_smtp(monkeypatch, None)
    org_id, agent_id, _ = make_business(tz="Africa/Casablanca")
    start = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    book(org_id, agent_id, start)
    with session_scope(org_id) as s:
        [row] = s.execute(select(Email)).scalars().all()
        email_id = row.id
    path = get_settings().data_dir / "outbox" / f"{email_id}.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "fatima@client.example"
    assert invitation(message)[0].events[0].decoded("dtstart").astimezone(UTC) == start
    assert states() == [("sent", 1)]


def _run_due(minutes: int) -> None:
    """Time passes; the sweep picks up what is due (as the periodic job would)."""
    with clock.frozen_at(clock.now() + timedelta(minutes=minutes)):
        tasks.sweep_emails()


def test_smtp_down_is_retried_then_dead_then_sent_again(db_url, monkeypatch, immediate) -> None:
    server = SmtpServer(free_port())  # not started: connections are refused
    _use_smtp(monkeypatch, server.url)
    org_id, agent_id, _ = make_business()
    book(org_id, agent_id, datetime(2026, 12, 8, 9, 0, tzinfo=UTC))  # the commit does not fail
    assert states() == [("queued", 1)]
    with session_scope(org_id) as s:
        row = s.execute(select(Email)).scalar_one()
        email_id, error = row.id, row.last_error
    assert "cannot reach 127.0.0.1" in error

    now = clock.now()
    for step in range(1, len(mail_outbox.BACKOFF) + 1):  # every backoff step fails, then the email is dead
        with clock.frozen_at(now + timedelta(hours=3 * step)):
            tasks.sweep_emails()
    assert states() == [("dead", len(mail_outbox.BACKOFF) + 1)]
    with clock.frozen_at(now + timedelta(days=1)):
        assert tasks.sweep_emails() == {"emails": 0}  # the dead stay dead until someone sends them again
    with session_scope(org_id) as s:
        assert [e.id for e in mail_outbox.dead_letters(s)] == [email_id]

    server.start()  # the server is back
    try:
        with session_scope(org_id) as s:
            mail_outbox.retry(s, email_id)
        assert states() == [("sent", 1)] and len(server.inbox.received) == 1
        assert server.inbox.messages()[0]["Subject"].startswith("Rendez-vous confirmé")
    finally:
        server.stop()


def test_a_lost_job_or_a_dead_worker_is_swept(db_url, monkeypatch, immediate) -> None:
    server = SmtpServer(free_port())
    _use_smtp(monkeypatch, server.url)
    org_id, agent_id, _ = make_business()
    with monkeypatch.context() as patched:
        patched.setattr(mail_outbox, "enqueue", lambda *a, **k: None)  # the jobs are lost
        book(org_id, agent_id, datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
        book(org_id, agent_id, datetime(2026, 12, 8, 10, 0, tzinfo=UTC))
    with session_scope(org_id) as s:  # a worker took the second one and died while sending it
        second = s.execute(select(Email).order_by(Email.created_at.desc(), Email.id.desc())).scalars().first()
        second.state, second.attempts = "sending", 1
        second.next_attempt_at = clock.now() + timedelta(seconds=get_settings().delivery_lease_seconds)
    assert states() in ([("queued", 0), ("sending", 1)], [("sending", 1), ("queued", 0)])
    server.start()
    try:
        assert tasks.sweep_emails() == {"emails": 0}  # within the grace and the lease: nothing yet
        _run_due(10)
        assert sorted(states()) == [("sent", 1), ("sent", 2)] and len(server.inbox.received) == 2
    finally:
        server.stop()


def test_a_refused_recipient_is_dead_at_once(db_url, monkeypatch, immediate) -> None:
    class Refusing(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
            return "550 5.1.1 no such user"

    server = SmtpServer(free_port())
    server.inbox = Refusing()
    server.start()
    try:
        _use_smtp(monkeypatch, server.url)
        org_id, agent_id, _ = make_business()
        book(org_id, agent_id, datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
        assert states() == [("dead", 1)]
        with session_scope(org_id) as s:
            assert "550" in s.execute(select(Email.last_error)).scalar_one()
    finally:
        server.stop()


def test_the_lead_notice_goes_to_the_business(db_url, smtp) -> None:
    from jasping.leads.models import Lead

    org_id, agent_id, owner_email = make_business()
    with session_scope(org_id) as s:
        lead = Lead(
            id=new_id("lead"), agent_id=agent_id, name="Karim <b>", email="karim@client.example",
            phone="+212612345678", custom={"budget": "< 1000 €"}, language="fr", consent=True, kind="callback",
        )  # fmt: skip
        s.add(lead)
        s.flush()
        mail.queue_lead_notice(s, lead)
    [message] = smtp.inbox.messages()
    assert message["To"].addresses[0].addr_spec == owner_email  # no contact email: the owner
    assert message["Reply-To"] == "karim@client.example" and message["Subject"] == "New lead from Front desk: Karim <b>"
    html = message.get_body(("html",)).get_content()
    assert "New callback request" in html and "Karim &lt;b&gt;" in html and "&lt; 1000 €" in html
    assert "+212612345678" in message.get_body(("plain",)).get_content()
    assert f"http://testserver/agents/{agent_id}" in html


def test_codes_are_sent_and_bad_requests_refused(db_url, smtp) -> None:
    org_id, _, _ = make_business()
    with session_scope(org_id) as s:
        mail.queue_code(s, org_id=org_id, to="new.member@client.example", code="482913", language="fr-FR")
    [message] = smtp.inbox.messages()
    assert message["Subject"] == "Votre code de vérification Salon Yasmine"
    assert "482913" in message.get_body(("plain",)).get_content()
    with session_scope(org_id) as s:
        with pytest.raises(Invalid, match="valid email address"):
            mail.queue_code(s, org_id=org_id, to="nobody", code="1", language="en")
        with pytest.raises(Invalid, match="code"):
            mail.queue_code(s, org_id=org_id, to="a@client.example", code="12 34", language="en")
    assert len(states()) == 1
