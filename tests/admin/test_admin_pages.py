"""The admin pages over HTTP (in process): log-in, lockout, two-factor, CSRF, roles, the
board's drag-to-move, inline edits with validation messages, ticket replies, log-out."""

from __future__ import annotations

import re

import httpx
import pyotp
import pytest
from kith import SYSTEM
from kith.web import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
async def web(kith_app):
    app = create_app(kith_app, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app, client=("10.0.0.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as c:
        yield c


@pytest.fixture
def user_with_password(kith_app, make_actor):
    async def make(role: str):
        actor = await make_actor(role)
        await kith_app.run(
            "user.set_password", {"user": actor.user_id, "password": PASSWORD}, SYSTEM
        )
        return actor

    return make


async def log_in(web, email: str, password: str = PASSWORD, **extra) -> httpx.Response:
    return await web.post(
        "/admin/login", data={"email": email, "password": password, "next": "/admin/board", **extra}
    )


def csrf_of(html: str) -> str:
    found = re.search(r'data-csrf="([^"]+)"', html)
    assert found, "the page carries its CSRF token"
    return found.group(1)


@pytest.fixture
async def pipeline(run_command):
    return await run_command(
        "pipeline.create",
        {
            "name": "Sales",
            "stages": [
                {"name": "Qualify", "probability": 10},
                {"name": "Propose", "probability": 50},
                {"name": "Won", "kind": "won", "probability": 100},
                {"name": "Lost", "kind": "lost", "probability": 0},
            ],
        },
    )


async def history_actions(kith_app, entity: str, entity_id: int) -> list[tuple[str, str]]:
    marks = kith_app.db.statements.placeholders(2)
    rows = await kith_app.db.fetch(
        f'SELECT "action", "actor" FROM "history" WHERE "entity" = {marks[0]} '
        f'AND "entity_id" = {marks[1]} ORDER BY "id"',
        [entity, entity_id],
    )
    return [(r["action"], r["actor"]) for r in rows]


async def test_pages_need_a_log_in_and_a_wrong_password_is_refused(web, user_with_password):
    agent = await user_with_password("agent")
    page = await web.get("/admin/board")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/admin/login?next=/admin/board")
    wrong = await log_in(web, agent.email, "not the password")
    assert wrong.status_code == 401
    assert "The email or password is not right." in wrong.text
    assert "kith_session" not in wrong.headers.get("set-cookie", "")
    unknown = await log_in(web, "nobody@example.com")
    assert unknown.status_code == 401 and "not right" in unknown.text


async def test_repeated_failures_lock_the_account_even_for_the_right_password(
    web, user_with_password, kith_app
):
    agent = await user_with_password("agent")
    for _ in range(5):
        assert (await log_in(web, agent.email, "guess guess guess")).status_code == 401
    locked = await log_in(web, agent.email)
    assert locked.status_code == 401
    assert "locked" in locked.text
    assert ("login_locked", "system") in await history_actions(kith_app, "user", agent.user_id)
    kith_app.clock.advance(minutes=16)
    assert (await log_in(web, agent.email)).status_code == 303


async def test_two_factor_code_is_required_once_turned_on(web, user_with_password, kith_app):
    agent = await user_with_password("agent")
    setup = await kith_app.run("user.totp_setup", {}, agent)
    totp = pyotp.TOTP(setup.secret)
    await kith_app.run("user.totp_confirm", {"code": totp.at(kith_app.clock.now())}, agent)
    without = await log_in(web, agent.email)
    assert without.status_code == 401 and "authenticator" in without.text
    wrong = await log_in(web, agent.email, totp="000000")
    assert wrong.status_code == 401 and "two-factor code" in wrong.text
    ok = await log_in(web, agent.email, totp=totp.at(kith_app.clock.now()))
    assert ok.status_code == 303


async def test_a_weak_password_is_refused_with_the_reason(kith_app, make_actor):
    from kith import KithError

    actor = await make_actor("agent")
    with pytest.raises(KithError) as err:
        await kith_app.run(
            "user.set_password", {"user": actor.user_id, "password": "short"}, SYSTEM
        )
    assert err.value.fields[0].field == "password"
    assert "at least 10" in err.value.fields[0].message


async def test_an_agent_cannot_set_another_users_password(kith_app, make_actor):
    from kith import KithError

    agent, other = await make_actor("agent"), await make_actor("agent")
    with pytest.raises(KithError) as err:
        await kith_app.run("user.set_password", {"user": other.email, "password": PASSWORD}, agent)
    assert err.value.status == 403


async def test_dragging_a_card_moves_the_deal_through_a_command_with_csrf(
    web, user_with_password, run_command, pipeline, kith_app
):
    agent = await user_with_password("agent")
    deal = await run_command(
        "deal.create", {"title": "Acme renewal", "value": "1200", "owner": agent.user_id}
    )
    assert (await log_in(web, agent.email)).status_code == 303
    board = await web.get("/admin/board")
    assert board.status_code == 200
    assert f'data-deal-id="{deal.id}"' in board.text
    assert "Acme renewal" in board.text and "€1,200" in board.text
    propose = pipeline.stages[1].id
    forged = await web.post(
        f"/admin/deals/{deal.id}/move",
        json={"stage": propose},
        headers={"Accept": "application/json"},
    )
    assert forged.status_code == 403
    assert (await kith_app.run("deal.get", {"deal": deal.id}, SYSTEM)).stage_id != propose
    moved = await web.post(
        f"/admin/deals/{deal.id}/move",
        json={"stage": propose},
        headers={"Accept": "application/json", "X-CSRF-Token": csrf_of(board.text)},
    )
    assert moved.status_code == 200, moved.text
    assert "€1,200" in moved.json()["columns"][str(propose)]
    assert (await kith_app.run("deal.get", {"deal": deal.id}, SYSTEM)).stage_id == propose
    actors = {a for _, a in await history_actions(kith_app, "deal", deal.id)}
    assert any(a.startswith("web:session:") for a in actors)


async def test_a_viewer_sees_the_board_but_cannot_move_a_deal(
    web, user_with_password, run_command, pipeline, kith_app
):
    viewer = await user_with_password("viewer")
    deal = await run_command("deal.create", {"title": "Globex", "value": "500"})
    await log_in(web, viewer.email)
    board = await web.get("/admin/board")
    assert 'draggable="false"' in board.text and 'draggable="true"' not in board.text
    assert "close-dialog" not in board.text  # won/lost are not offered
    forced = await web.post(
        f"/admin/deals/{deal.id}/move",
        json={"stage": pipeline.stages[1].id},
        headers={"Accept": "application/json", "X-CSRF-Token": csrf_of(board.text)},
    )
    assert forced.status_code == 403
    assert (await kith_app.run("deal.get", {"deal": deal.id}, SYSTEM)).stage_id == pipeline.stages[
        0
    ].id


async def test_board_totals_count_every_deal_while_showing_the_first_cards(
    kith_app, run_command, pipeline, make_actor
):
    for i in range(7):
        await run_command("deal.create", {"title": f"Deal {i}", "value": str(100 * (i + 1))})
    board = await kith_app.run("deal.board", {"per_column": 3}, await make_actor("viewer"))
    first = board.columns[0]
    assert first.count == 7 and len(first.cards) == 3 and first.more
    assert first.totals[0].value_minor == 2_800_00
    assert first.totals[0].weighted_minor == 280_00
    assert [c.title for c in first.cards] == ["Deal 6", "Deal 5", "Deal 4"]
    more = await kith_app.run(
        "deal.board", {"per_column": 3, "stage": first.stage_id, "offset": 6}, SYSTEM
    )
    assert [c.title for c in more.columns[0].cards] == ["Deal 0"]
    assert not more.columns[0].more


async def test_inline_edit_shows_the_validation_message_and_keeps_the_value(
    web, user_with_password, run_command, kith_app
):
    await run_command(
        "custom_field.define",
        {"entity": "contact", "key": "seats", "label": "Seats", "type": "number"},
    )
    agent = await user_with_password("agent")
    contact = await run_command("contact.create", {"name": "Ada Lovelace"})
    await log_in(web, agent.email)
    page = await web.get(f"/admin/contacts/{contact.id}")
    assert page.status_code == 200 and "Seats" in page.text
    token = csrf_of(page.text)
    bad = await web.post(
        f"/admin/contacts/{contact.id}/edit",
        data={"_csrf": token, "field": "custom.seats", "value": "lots"},
    )
    assert bad.status_code == 400
    assert 'role="alert"' in bad.text and "number" in bad.text.lower()
    assert 'value="lots"' in bad.text  # what the person typed is still there
    stored = await kith_app.run("contact.get", {"contact": contact.id}, SYSTEM)
    assert stored.custom.get("seats") is None
    good = await web.post(
        f"/admin/contacts/{contact.id}/edit",
        data={"_csrf": token, "field": "custom.seats", "value": "12"},
    )
    assert good.status_code == 303
    stored = await kith_app.run("contact.get", {"contact": contact.id}, SYSTEM)
    assert stored.custom["seats"] == 12


async def test_reply_and_comment_on_a_ticket_from_its_page(
    web, user_with_password, run_command, kith_app
):
    agent = await user_with_password("agent")
    ticket = await run_command(
        "ticket.create",
        {"subject": "Printer on fire", "requester": "pat@customer.example"},
    )
    await log_in(web, agent.email)
    queue = await web.get("/admin/tickets?queue=open")
    assert queue.status_code == 200 and "Printer on fire" in queue.text
    page = await web.get(f"/admin/tickets/{ticket.id}")
    token = csrf_of(page.text)
    sent = await web.post(
        f"/admin/tickets/{ticket.id}/reply",
        data={"_csrf": token, "body": "We are on it.", "kind": "reply"},
    )
    assert sent.status_code == 303
    await web.post(
        f"/admin/tickets/{ticket.id}/reply",
        data={"_csrf": token, "body": "Call facilities", "kind": "comment"},
    )
    thread = await kith_app.run("ticket.thread", {"ticket": ticket.id}, SYSTEM)
    bodies = {(m.body, m.public) for m in thread.messages}
    assert ("We are on it.", True) in bodies and ("Call facilities", False) in bodies
    shown = await web.get(f"/admin/tickets/{ticket.id}")
    assert "We are on it." in shown.text and "(internal)" in shown.text


async def test_log_out_ends_the_session(web, user_with_password):
    agent = await user_with_password("agent")
    await log_in(web, agent.email)
    board = await web.get("/admin/settings")
    assert board.status_code == 200
    out = await web.post("/admin/logout", data={"_csrf": csrf_of(board.text)})
    assert out.status_code == 303
    again = await web.get("/admin/settings")
    assert again.status_code == 303 and "/admin/login" in again.headers["location"]


async def test_every_page_renders_for_an_admin(web, user_with_password, run_command, pipeline):
    admin_user = await user_with_password("admin")
    org = await run_command("organization.create", {"name": "Initech"})
    lead = await run_command("lead.create", {"name": "Pat Lead", "email": "pat@lead.example"})
    deal = await run_command("deal.create", {"title": "Initech deal", "value": "10"})
    await log_in(web, admin_user.email)
    paths = [
        "/admin/board",
        "/admin/tickets",
        "/admin/dashboards",
        f"/admin/organizations/{org.id}",
        f"/admin/leads/{lead.id}",
        f"/admin/deals/{deal.id}",
        "/admin/search?q=initech",
    ] + [
        f"/admin/settings?tab={t}"
        for t in (
            "people",
            "pipelines",
            "fields",
            "sla",
            "tokens",
            "channels",
            "plugins",
            "jobs",
            "mail",
            "webhooks",
        )
    ]
    for path in paths:
        page = await web.get(path)
        assert page.status_code == 200, (path, page.text[-500:])
        assert "<h1" in page.text
    found = await web.get("/admin/search?q=initech")
    assert f"/admin/organizations/{org.id}" in found.text


async def test_settings_forms_run_their_commands_and_show_errors(web, user_with_password, kith_app):
    admin_user = await user_with_password("admin")
    await log_in(web, admin_user.email)
    page = await web.get("/admin/settings?tab=people")
    token = csrf_of(page.text)
    added = await web.post(
        "/admin/settings/run",
        data={
            "_csrf": token,
            "command": "user.create",
            "email": "new@staff.example.com",
            "name": "New Person",
            "role": "viewer",
        },
    )
    assert added.status_code == 303 and "done=user.create" in added.headers["location"]
    created = await kith_app.run("user.get", {"user": "new@staff.example.com"}, SYSTEM)
    assert created.role == "viewer"
    bad = await web.post(
        "/admin/settings/run",
        data={
            "_csrf": token,
            "command": "custom_field.define",
            "entity": "contact",
            "key": "Bad Key!",
            "label": "Bad",
            "type": "text",
        },
    )
    assert bad.status_code == 400 and 'role="alert"' in bad.text and "key" in bad.text
    made = await web.post(
        "/admin/settings/run",
        data={
            "_csrf": token,
            "command": "token.create",
            "user": str(admin_user.user_id),
            "name": "sync",
        },
    )
    assert made.status_code == 200 and "shown this once" in made.text
    assert re.search(r"<code>kith_[A-Za-z0-9_-]{20,}</code>", made.text)
    refused = await web.post(
        "/admin/settings/run", data={"_csrf": token, "command": "contact.erase", "contact": "1"}
    )
    assert refused.status_code == 400 and "cannot run that" in refused.text


async def test_an_agent_cannot_add_users_from_the_settings_page(web, user_with_password):
    agent = await user_with_password("agent")
    await log_in(web, agent.email)
    page = await web.get("/admin/settings?tab=people")
    assert "Add a user" not in page.text
    forced = await web.post(
        "/admin/settings/run",
        data={
            "_csrf": csrf_of(page.text),
            "command": "user.create",
            "email": "sneaky@staff.example.com",
            "name": "Sneaky",
            "role": "admin",
        },
    )
    assert forced.status_code == 403
