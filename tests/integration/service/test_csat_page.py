"""The rating page a CSAT email links to: opening a link records nothing (mail scanners open
every link); the form's POST records the rating; a forged link is refused."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from conftest import named, open_ticket
from kith.web import create_app


@pytest.fixture
async def browser(kith_app):
    app = create_app(kith_app, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as c:
        yield c


async def _rating_link(run_command, run_jobs, events) -> tuple[str, str, int]:
    ticket = await open_ticket(run_command)
    await run_command("ticket.set_status", {"ticket": ticket.id, "status": "solved"})
    await run_jobs()
    (requested,) = named(events, "ticket.csat_requested")
    link = urlsplit(requested.data["links"]["bad"])
    return f"{link.path}?{link.query}", link.path, ticket.id


async def test_opening_the_link_shows_a_form_and_records_nothing(
    desk, browser, run_command, run_jobs, events
):
    link, path, number = await _rating_link(run_command, run_jobs, events)
    assert path.startswith("/plugins/service/csat/")
    for _ in range(3):  # a mail scanner, then the customer, twice
        page = await browser.get(link)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert 'method="post"' in page.text and f"#{number}" in page.text
        assert 'value="bad" checked' in page.text
    results = await run_command("csat.results", {"by": "month"})
    assert results.good == 0 and results.bad == 0
    assert named(events, "ticket.csat_rated") == []


async def test_posting_the_form_records_the_rating_and_comment(
    desk, browser, run_command, run_jobs, events
):
    _, path, number = await _rating_link(run_command, run_jobs, events)
    sent = await browser.post(
        path,
        content="rating=bad&comment=Took+three+days+%3Cb%3E",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert sent.status_code == 200, sent.text
    assert "Thank you" in sent.text
    results = await run_command("csat.results", {"by": "month"})
    assert (results.good, results.bad) == (0, 1)
    (rated,) = named(events, "ticket.csat_rated")
    assert rated.entity_id == number and rated.data["comment"] == "Took three days <b>"
    again = await browser.get(path)
    assert "You rated this bad" in again.text
    assert "Took three days &lt;b&gt;" in again.text  # shown escaped, never as markup


async def test_a_forged_link_or_a_missing_rating_is_refused_and_nothing_recorded(
    desk, browser, run_command, run_jobs, events
):
    _, path, _ = await _rating_link(run_command, run_jobs, events)
    token = path.rsplit("/", 1)[1]
    payload, _, signature = token.partition(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for response in (
        await browser.get(f"/plugins/service/csat/{forged}"),
        await browser.post(f"/plugins/service/csat/{forged}", content="rating=good", headers=form),
    ):
        assert response.status_code == 400
        assert "This link does not work" in response.text
    missing = await browser.post(path, content="comment=hm", headers=form)
    assert missing.status_code == 400 and "rating" in missing.text
    too_big = await browser.post(path, content="rating=good&comment=" + "x" * 20000, headers=form)
    assert too_big.status_code == 413
    results = await run_command("csat.results", {"by": "month"})
    assert results.good == 0 and results.bad == 0


async def test_one_client_cannot_hammer_the_page(desk, browser, run_command, run_jobs, events):
    link, _, _ = await _rating_link(run_command, run_jobs, events)
    statuses = [(await browser.get(link)).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
    results = await run_command("csat.results", {"by": "month"})
    assert results.good == 0 and results.bad == 0
