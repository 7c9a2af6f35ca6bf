"""The dashboard's appointments agenda (issue 13, point 3): the week and the day in the organization's time zone,
cancelling and moving through the scheduling services — the customer's emails and the calendar follow as when the
API does it — with the reasons shown on the page; English and French; role checks; SQLite and PostgreSQL. And the
new pages in Chromium on a phone (390 x 844): no sideways scrolling, the keyboard reaches the content, screenshots in
`test-artifacts/pages/`."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from jasping.db import session_scope, unscoped
from jasping.integrations.mail_models import Email
from security_fixtures import add_member
from test_analytics import clinic, now  # noqa: F401 - fixtures (Africa/Casablanca, clock at 2026-06-10 10:00 UTC)
from test_whatsapp import graph  # noqa: F401 - the Graph API stand-in fixture

SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "pages"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def _mails(appointment_id: str) -> list[str]:
    with session_scope() as s, unscoped(s):
        return list(
            s.execute(select(Email.kind).where(Email.ref == appointment_id).order_by(Email.created_at)).scalars()
        )


def test_agenda_cancel_and_move(client, clinic, now) -> None:  # noqa: F811
    org, agent = clinic
    body = {"start": "2026-06-12T10:00:00+01:00", "service": "check"}
    body["contact"] = {"name": "Sara Alami", "phone": "0612345678", "email": "sara@example.org"}
    booked = org.post(f"/api/v1/agents/{agent['id']}/appointments", json=body).json()
    week = org.client.get("/appointments", params={"date": "2026-06-10"})  # Wednesday: the week from Monday 8 June
    assert week.status_code == 200
    assert week.text.count('<section class="card" aria-labelledby="day-') == 7 and "Friday 2026-06-12" in week.text
    item = week.text.split(f'id="apt-{booked["id"]}"')[1].split("</li>")[0]
    assert "10:00–10:30" in item and "Check-up" in item and "Sara Alami" in item and "Booked" in item
    assert "Africa/Casablanca" in week.text and 'href="/appointments" aria-current="page"' in week.text
    day = org.client.get("/appointments", params={"date": "2026-06-11", "view": "day"}).text
    assert booked["id"] not in day and "No appointment." in day
    assert org.client.get("/appointments", params={"date": "12/06/2026"}).status_code == 422

    token = _csrf(week.text)
    sunday = org.client.post(
        f"/appointments/{booked['id']}/move", data={"csrf_token": token, "start": "2026-06-14T10:00"}
    )
    assert sunday.status_code == 422 and 'role="alert"' in sunday.text  # the reason, on the agenda of that day
    assert (
        org.client.post(f"/appointments/{booked['id']}/move", data={"csrf_token": token, "start": "soon"}).status_code
        == 422
    )
    mails = len(_mails(booked["id"]))
    r = org.client.post(
        f"/appointments/{booked['id']}/move",
        data={"csrf_token": token, "start": "2026-06-12T11:00", "back": "view=week&date=2026-06-10"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "flash=appointment_moved" in r.headers["location"]
    listed = {a["id"]: a for a in org.get("/api/v1/appointments").json()["appointments"]}
    assert listed[booked["id"]]["status"] == "cancelled"
    (moved,) = [a for a in listed.values() if a["status"] == "booked"]
    assert moved["start"].startswith("2026-06-12T10:00:00")  # 11:00 in Casablanca (UTC+01:00)
    assert len(_mails(moved["id"])) + len(_mails(booked["id"])) > mails  # the customer is told the new time

    viewer = add_member(org.id, "viewer@example.org", "viewer")
    assert viewer.client.get("/appointments").status_code == 200
    refused = {"csrf_token": viewer.csrf}
    assert viewer.client.post(f"/appointments/{moved['id']}/cancel", data=refused).status_code == 403
    assert "Cancel the appointment" not in viewer.client.get("/appointments", params={"date": "2026-06-12"}).text

    before = len(_mails(moved["id"]))
    r = org.client.post(
        f"/appointments/{moved['id']}/cancel",
        data={"csrf_token": token, "back": "view=week&date=2026-06-10"},
        follow_redirects=False,
    )
    assert (
        r.status_code == 303
        and r.headers["location"] == "/appointments?view=week&date=2026-06-10&flash=appointment_cancelled"
    )
    assert org.get(f"/api/v1/appointments/{moved['id']}").json()["status"] == "cancelled"
    assert len(_mails(moved["id"])) == before + 1  # the cancellation email
    shown = org.client.get(r.headers["location"]).text
    assert "Appointment cancelled; the customer is told by email." in shown and "Cancelled appointment" in shown
    assert org.client.post("/appointments/apt_nope/cancel", data={"csrf_token": token}).status_code == 404

    org.client.cookies.set("jasping_lang", "fr")
    fr = org.client.get("/appointments", params={"date": "2026-06-10"}).text
    assert "Vendredi 2026-06-12" in fr and "Rendez-vous annulé" in fr and "Semaine" in fr


def test_the_pages_on_a_phone(db_url) -> None:
    """Sign up in Chromium at 390 x 844, then each new page: nothing wider than the screen, Tab reaches the skip link
    and then the page's links, and a screenshot of each."""
    if "sqlite" not in db_url:
        return  # one backend is enough for the browser
    from browser import chromium, jasping_server

    SHOTS.mkdir(parents=True, exist_ok=True)
    with jasping_server(db_url) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(url + "/register")
        page.fill("#email", "salma@example.org")
        page.fill("#password", "correct horse battery")
        page.fill("#organization_name", "Riad Salma")
        page.click("button[type=submit]")
        page.fill("#name", "Amal")
        page.click("form.card button[type=submit]")
        page.wait_for_url(re.compile(r"/agents/agt_"))
        for path in ("/contacts", "/leads", "/appointments", "/settings", "/analytics"):
            page.goto(url + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip", path
            page.keyboard.press("Enter")
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.closest('main') !== null"), path  # skipped to the content
            page.screenshot(path=str(SHOTS / f"{path.strip('/')}-390x844.png"), full_page=True)
