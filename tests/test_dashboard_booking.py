"""The agent's booking settings in the dashboard: services, weekly hours, closed dates, checked like the API."""

from __future__ import annotations

import re

import pytest

from test_dashboard import _csrf, _sign_up

HOURS_OFF = {f"hours-{d}": "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _new_agent(client, csrf: str, name: str = "Amal") -> str:  # noqa: ANN001
    r = client.post("/agents/new", data={"csrf_token": csrf, "name": name, "languages": ["en", "fr"]})
    assert r.status_code == 200, r.text[:300]
    return re.search(r'action="/agents/(agt_\w+)/booking"', r.text).group(1)


def _booking(csrf: str, **fields: str) -> dict:
    """A booking form as a browser sends it: booking on, three service rows, every day's field."""
    form = {
        "csrf_token": csrf,
        "booking_enabled": "1",
        **{f"service-{i}-{k}": "" for i in range(3) for k in ("id", "name", "duration", "buffer")},
        **HOURS_OFF,
        "closed_dates": "",
        "step_min": "15",
        "min_notice_min": "60",
        "horizon_days": "60",
    }
    form.update(fields)
    return form


def _api_booking(client, agent_id: str):  # noqa: ANN001, ANN202
    r = client.get(f"/api/v1/agents/{agent_id}")
    assert r.status_code == 200, r.text
    return r.json()["booking"]


def test_services_and_hours_saved_in_the_form_appear_in_the_api(client) -> None:
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    page = client.get(f"/agents/{agent_id}")
    assert 'id="booking"' in page.text and 'name="booking_enabled" value="1"' in page.text
    assert "checked" not in re.search(r"<input[^>]*booking_enabled[^>]*>", page.text).group(0)
    assert page.text.count('class="service-row"') == 3  # blank rows to fill in, no script needed
    assert '<label for="hours-mon">Monday</label>' in page.text
    assert _api_booking(client, agent_id) is None

    form = _booking(
        csrf,
        **{
            "service-0-name": "Women's cut",
            "service-0-duration": "45",
            "service-0-buffer": "15",
            "service-1-name": "Beard trim",
            "service-1-duration": "20",
            "service-5-name": "Colour",  # a row added by the script: any row number works
            "service-5-duration": "90",
            "service-5-buffer": "0",
            "hours-mon": "09:00-13:00, 14:00-19:00",
            "hours-tue": "9h-18h",
            "hours-sat": "09:00 - 12:30",
            "closed_dates": "2026-12-25\n2026-01-01",
            "min_notice_min": "120",
        },
    )
    r = client.post(f"/agents/{agent_id}/booking", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/agents/{agent_id}?flash=saved"
    booking = _api_booking(client, agent_id)
    assert booking["services"] == [
        {"id": "women-s-cut", "name": "Women's cut", "duration_min": 45, "buffer_min": 15},
        {"id": "beard-trim", "name": "Beard trim", "duration_min": 20, "buffer_min": 0},
        {"id": "colour", "name": "Colour", "duration_min": 90, "buffer_min": 0},
    ]
    assert booking["hours"]["mon"] == [["09:00", "13:00"], ["14:00", "19:00"]]
    assert booking["hours"]["tue"] == [["09:00", "18:00"]] and booking["hours"]["sat"] == [["09:00", "12:30"]]
    assert booking["hours"]["sun"] == [] and booking["closed_dates"] == ["2026-01-01", "2026-12-25"]
    assert booking["min_notice_min"] == 120 and booking["step_min"] == 15 and "tz" not in booking

    page = client.get(f"/agents/{agent_id}?flash=saved")
    assert "Saved." in page.text
    assert "checked" in re.search(r"<input[^>]*booking_enabled[^>]*>", page.text).group(0)
    assert 'value="09:00-13:00, 14:00-19:00"' in page.text and 'value="Women&#39;s cut"' in page.text
    assert page.text.count('class="service-row"') == 5  # three services and two blank rows

    # rename the first service (its id stays, for the appointments made with it) and remove the second
    form = _booking(
        csrf,
        **{
            "service-0-id": "women-s-cut",
            "service-0-name": "Cut",
            "service-0-duration": "40",
            "service-0-buffer": "10",
            "service-1-id": "beard-trim",
            "service-1-name": "Beard trim",
            "service-1-duration": "20",
            "service-1-remove": "1",
            "hours-wed": "10:00-16:00",
        },
    )
    assert client.post(f"/agents/{agent_id}/booking", data=form, follow_redirects=False).status_code == 303
    booking = _api_booking(client, agent_id)
    assert booking["services"] == [{"id": "women-s-cut", "name": "Cut", "duration_min": 40, "buffer_min": 10}]
    assert booking["hours"]["wed"] == [["10:00", "16:00"]] and booking["hours"]["mon"] == []

    # saving the agent's other settings keeps the booking; turning booking off clears it, as the API's null does
    r = client.post(f"/agents/{agent_id}", data={"csrf_token": csrf, "name": "Amal B", "languages": ["en"]})
    assert r.status_code == 200 and "Amal B" in r.text
    assert _api_booking(client, agent_id)["services"][0]["name"] == "Cut"
    r = client.post(f"/agents/{agent_id}/booking", data={"csrf_token": csrf, **HOURS_OFF}, follow_redirects=False)
    assert r.status_code == 303 and _api_booking(client, agent_id) is None


SERVICE = {"service-0-name": "Check-up", "service-0-duration": "30", "hours-mon": "09:00-17:00"}


@pytest.mark.parametrize(
    ("fields", "message", "field"),
    [
        ({"hours-mon": "25:00-10"}, "Monday: 25:00 is not a time of day such as 09:00", "hours-mon"),
        ({"hours-tue": "14:00-09:00"}, "Tuesday: each period must end after it starts (14:00-09:00)", "hours-tue"),
        ({"hours-mon": "9-13, 12-14"}, "Monday: the periods 09:00-13:00 and 12:00-14:00 overlap", "hours-mon"),
        ({"hours-fri": "all day"}, "Friday: write each period as 09:00-13:00, separated by commas", "hours-fri"),
        ({"hours-mon": ""}, "Give opening hours for at least one day", "hours-mon"),
        ({"service-0-name": "", "service-0-duration": ""}, "Add at least one service", "service-0-name"),
        ({"service-2-duration": "15"}, "Service 3: give it a name", "service-2-name"),
        (
            {"service-2-name": "Long", "service-2-duration": "0"},
            "Service 3: the duration must be a number of minutes between 1 and 1440",
            "service-2-duration",
        ),
        (
            {"service-1-name": "X", "service-1-duration": "10", "service-1-buffer": "-5"},
            "Service 2: the break after it must be a number of minutes between 0 and 1440",
            "service-1-buffer",
        ),
        ({"closed_dates": "2026-02-30"}, "2026-02-30 is not a date such as 2025-12-25", "closed_dates"),
        ({"horizon_days": "5000"}, "Customers can book between 1 and 730 days ahead", "horizon_days"),
    ],
)
def test_invalid_settings_are_explained_in_the_form_and_nothing_is_saved(client, fields, message, field) -> None:
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    good = _booking(csrf, **SERVICE)
    assert client.post(f"/agents/{agent_id}/booking", data=good, follow_redirects=False).status_code == 303
    before = _api_booking(client, agent_id)

    r = client.post(f"/agents/{agent_id}/booking", data={**good, **fields})
    assert r.status_code == 422 and "<html" in r.text
    error = re.search(r'<p class="error" role="alert" id="booking-error">([^<]*)</p>', r.text)
    assert error and error.group(1) == message.replace("'", "&#39;")
    tag = re.search(rf'<(?:input|textarea)[^>]*id="{field}"[^>]*>', r.text).group(0)
    assert 'aria-invalid="true"' in tag and "booking-error" in tag and "autofocus" in tag
    for name, value in fields.items():  # what the person typed is shown again, to be corrected
        if value and not name.startswith("closed"):
            assert f'value="{value}"' in r.text
    assert _api_booking(client, agent_id) == before


def test_the_api_refuses_what_the_form_refuses(client, make_org) -> None:
    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    booking = {"services": [{"id": "a", "name": "A", "duration_min": 30}], "hours": {"mon": [["14:00", "09:00"]]}}
    r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": booking})
    assert r.status_code == 422 and "mon: each period must end after it starts (14:00-09:00)" in r.text


def test_french_labels_and_errors(client) -> None:
    client.get("/lang/fr")
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    page = client.get(f"/agents/{agent_id}")
    for text in ("Rendez-vous", "Horaires d&#39;ouverture", "Lundi", "Dimanche", "Durée (minutes)", "Pause après"):
        assert text in page.text
    assert "Enregistrer les réglages de rendez-vous" in page.text and "Ajouter un service" in page.text
    r = client.post(f"/agents/{agent_id}/booking", data=_booking(csrf, **{**SERVICE, "hours-mon": "25:00-10"}))
    assert r.status_code == 422 and "Lundi : 25:00 n&#39;est pas une heure comme 09:00" in r.text
    r = client.post(f"/agents/{agent_id}/booking", data=_booking(csrf, **{**SERVICE, "service-0-name": ""}))
    assert r.status_code == 422 and "Service 1 : donnez-lui un nom" in r.text


def test_another_organizations_agent_is_not_found(client, make_org) -> None:
    other = make_org("Other")
    agent = other.post("/api/v1/agents", json={"name": "Theirs"}).json()
    csrf = _sign_up(client)
    assert client.get(f"/agents/{agent['id']}").status_code == 404
    r = client.post(f"/agents/{agent['id']}/booking", data=_booking(csrf, **SERVICE))
    assert r.status_code == 404 and "<html" in r.text
    assert other.get(f"/api/v1/agents/{agent['id']}").json()["booking"] is None


def test_without_the_csrf_token_nothing_is_saved(client) -> None:
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    form = _booking(csrf, **SERVICE)
    r = client.post(f"/agents/{agent_id}/booking", data={**form, "csrf_token": "forged"})
    assert r.status_code == 403 and "the form expired" in r.text
    r = client.post(f"/agents/{agent_id}/booking", data={k: v for k, v in form.items() if k != "csrf_token"})
    assert r.status_code == 422 and "<html" in r.text  # a form without its token is refused before anything runs
    assert _api_booking(client, agent_id) is None
    assert client.get("/static/booking.js").status_code == 200
    assert _csrf(client.get(f"/agents/{agent_id}").text) == csrf


def test_a_viewer_sees_the_settings_but_cannot_change_them(client, make_org) -> None:
    from starlette.testclient import TestClient

    from jasping.app import create_app
    from jasping.db import session_scope
    from jasping.tenancy.models import Membership

    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    booking = {
        "services": [{"id": "a", "name": "Check-up", "duration_min": 30}],
        "hours": {"mon": [["09:00", "12:00"]]},
    }
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": booking}).status_code == 200
    viewer = TestClient(create_app(), base_url="http://testserver")
    _sign_up(viewer, "viewer@example.org")
    with session_scope() as s:
        user_id = s.query(Membership).filter(Membership.org_id != org.id).one().user_id
        s.add(Membership(id="mem_viewer", org_id=org.id, user_id=user_id, role="viewer"))
    viewer.post("/org/switch", data={"csrf_token": _csrf(viewer.get("/").text), "org_id": org.id})
    page = viewer.get(f"/agents/{agent['id']}")
    section = page.text[page.text.index('id="booking"') :]
    assert 'value="Check-up"' in section and "<fieldset disabled>" in section
    r = viewer.post(f"/agents/{agent['id']}/booking", data={"csrf_token": _csrf(page.text), **HOURS_OFF})
    assert r.status_code == 403
    assert org.get(f"/api/v1/agents/{agent['id']}").json()["booking"]["services"][0]["name"] == "Check-up"


def test_the_add_a_service_button_and_the_error_focus_in_a_browser(db_url) -> None:
    from browser import chromium, jasping_server

    with jasping_server(db_url) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(url + "/register")
        page.fill("#email", "salma@example.org")
        page.fill("#password", "correct horse battery")
        page.fill("#organization_name", "Riad Salma")
        page.click("button[type=submit]")
        page.fill("#name", "Amal")
        page.click("form.card button[type=submit]")
        page.check("#booking_enabled")
        page.fill("#service-0-name", "Haircut")
        page.fill("#service-0-duration", "30")
        page.click("#add-service")
        page.click("#add-service")
        assert page.evaluate("document.activeElement.id") == "service-4-name"  # the new row, ready to type in
        page.fill("#service-4-name", "Colour")
        page.fill("#service-4-duration", "90")
        page.fill("#hours-mon", "14:00-09:00")
        page.click("#booking button[type=submit]")
        page.wait_for_selector("#booking-error")
        assert page.evaluate("document.activeElement.id") == "hours-mon"  # the field to correct has the focus
        page.fill("#hours-mon", "09:00-13:00, 14:00-19:00")
        page.click("#booking button[type=submit]")
        page.wait_for_selector(".flash")
        assert [page.input_value(f"#service-{i}-name") for i in range(3)] == ["Haircut", "Colour", ""]
        assert page.input_value("#hours-mon") == "09:00-13:00, 14:00-19:00"
