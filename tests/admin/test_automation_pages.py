"""The automations editor in the admin: when / if / then, problems shown next to their part,
"Try it" on recent events, saving versions, turning on and off — with the roles' limits."""

from __future__ import annotations

import re

from test_admin_pages import csrf_of, log_in

THEN = (
    '- create_task: {title: "Book a demo for {{ deal.title }}", assignee: owner, '
    'due: "+2 business days"}\n- wait: 3 days\n'
)


async def test_a_manager_writes_tries_and_saves_an_automation(
    web, user_with_password, pipeline, run_command, kith_app
):
    manager = await user_with_password("manager")
    await log_in(web, manager.email)
    page = await web.get("/admin/automations/new")
    assert page.status_code == 200 and "deal.stage_changed" in page.text  # the event catalog
    token = csrf_of(page.text)
    form = {
        "_csrf": token,
        "name": "Follow up qualified deals",
        "when": "deal.stage_changed",
        "if": "all:\n  - {field: stage, equals: Propose}\n  - {field: valeu, greater_than: 1000}",
        "then": THEN,
        "action": "save",
    }
    refused = await web.post("/admin/automations/save", data=form)
    assert refused.status_code == 400
    assert re.search(r'id="e-if"[^>]*>[^<]*valeu', refused.text)  # named next to its part
    assert "Book a demo" in refused.text  # what was typed is kept
    assert (await run_command("automation.list", {})).automations == []

    broken = await web.post("/admin/automations/save", data={**form, "then": "- create_task: [}"})
    assert broken.status_code == 400 and "not readable as YAML" in broken.text

    fixed = {**form, "if": "all:\n  - {field: stage, equals: Propose}"}
    deal = await run_command("deal.create", {"title": "Initech", "pipeline": pipeline.id})
    await run_command("deal.move", {"deal": deal.id, "stage": "Propose"})
    await kith_app.drain()
    tried = await web.post("/admin/automations/save", data={**fixed, "action": "try"})
    assert tried.status_code == 200 and "what the immediate steps would do" in tried.text
    assert "Book a demo for Initech" in tried.text
    assert (await run_command("automation.list", {})).automations == []  # trying saves nothing

    saved = await web.post("/admin/automations/save", data=fixed)
    assert saved.status_code == 303
    (automation,) = (await run_command("automation.list", {})).automations
    assert saved.headers["location"] == f"/admin/automations/{automation.id}?saved=1"
    shown = await web.get(saved.headers["location"])
    assert "Saved." in shown.text and "v1" in shown.text and "Book a demo" in shown.text

    listing = await web.get("/admin/automations")
    assert "Follow up qualified deals" in listing.text and "Turn on" in listing.text
    turned = await web.post(
        f"/admin/automations/{automation.id}/toggle", data={"_csrf": token, "enable": "1"}
    )
    assert turned.status_code == 303
    assert (await run_command("automation.get", {"automation": automation.id})).enabled is True


async def test_an_agent_sees_automations_but_cannot_define_them(web, user_with_password):
    agent = await user_with_password("agent")
    await log_in(web, agent.email)
    listing = await web.get("/admin/automations")
    assert listing.status_code == 200 and "New automation" not in listing.text
    new = await web.get("/admin/automations/new")
    assert new.status_code == 403
    token = csrf_of(listing.text)
    refused = await web.post(
        "/admin/automations/save",
        data={"_csrf": token, "name": "X", "when": "deal.created", "then": "- wait: 1 day"},
    )
    assert refused.status_code == 403
