"""A web form from submission to unsubscribe: contact, consent with proof, a routed lead,
double opt-in by a signed link, the consent gate on marketing mail, RFC 8058 one-click
unsubscribe; and the bad input around it."""

from __future__ import annotations

import kith
import pytest
from conftest import CONTACT_FORM, link_in


async def submit(http, **fields):
    data = {"name": "Ada Lovelace", "email": "ada@analytical.example", "company": "Analytical"}
    data.update(fields)
    return await http.post("/f/demo-request?utm_source=newsletter&utm_campaign=autumn", data=data)


async def test_a_form_post_makes_a_contact_a_lead_and_pending_consent(
    run_command, run_jobs, http, sink, events
):
    await run_command("form.create", CONTACT_FORM)
    page = await http.get("/f/demo-request")
    assert page.status_code == 200 and 'name="email"' in page.text and "newsletter" in page.text
    response = await submit(http, consent="newsletter")
    assert response.status_code == 200, response.text
    assert "check your inbox" in response.text
    await run_jobs()
    (event,) = [e for e in events if e.name == "form.submitted"]
    contact = await run_command("contact.get", {"contact": event.entity_id})
    assert (contact.name, contact.email) == ("Ada Lovelace", "ada@analytical.example")
    assert event.data["attribution"] == {"utm_source": "newsletter", "utm_campaign": "autumn"}
    lead = await run_command("lead.get", {"lead": event.data["lead"]})
    assert lead.source == "form:demo-request (autumn)" and lead.contact_id == contact.id
    (consent,) = (await run_command("consent.list", {"contact": contact.id})).items
    assert consent.status == "pending"
    assert consent.proof["ip"] == "203.0.113.7"
    assert consent.proof["text"].startswith("Send me the monthly newsletter")
    (optin,) = sink.messages
    assert optin["To"] == "ada@analytical.example"
    # Until the link is clicked, no newsletter may be sent.
    with pytest.raises(kith.KithError) as err:
        await run_command(
            "marketing.send",
            {"contact": contact.id, "purpose": "newsletter", "subject": "Hi", "text": "News"},
        )
    assert err.value.code == "no_consent" and err.value.fields[0].field == "contact"
    assert "pending" in err.value.message


async def test_opt_in_then_newsletter_then_one_click_unsubscribe(run_command, run_jobs, http, sink):
    await run_command("form.create", CONTACT_FORM)
    await submit(http, consent="newsletter")
    await run_jobs()
    confirm = link_in(sink.messages[0], "confirm")
    shown = await http.get(confirm)  # a mail scanner's GET changes nothing
    assert shown.status_code == 200 and "<form" in shown.text
    contact_id = (await run_command("contact.list", {})).items[0].id
    assert (await run_command("consent.list", {"contact": contact_id})).items[0].status == "pending"
    assert (await http.post(confirm)).status_code == 200
    assert (await run_command("consent.list", {"contact": contact_id})).items[0].status == "granted"

    sent = await run_command(
        "marketing.send",
        {
            "contact": contact_id,
            "purpose": "newsletter",
            "subject": "Autumn news for {{ contact.first_name }}",
            "text": "Hello {{ contact.first_name }}, here is what is new.",
        },
    )
    await run_jobs()
    news = sink.messages[-1]
    assert news["Subject"] == "Autumn news for Ada"
    assert news["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert news["List-Unsubscribe"] == f"<{sent.unsubscribe_url}>"
    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the link.
    unsubscribe = link_in(news, "unsubscribe")
    one_click = await http.post(
        unsubscribe,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200 and "unsubscribed" in one_click.text
    (consent,) = (await run_command("consent.list", {"contact": contact_id})).items
    assert consent.status == "withdrawn"
    with pytest.raises(kith.KithError) as err:
        await run_command(
            "marketing.send",
            {"contact": contact_id, "purpose": "newsletter", "subject": "Hi", "text": "More"},
        )
    assert "withdrawn" in err.value.message


async def test_no_marketing_mail_without_consent_or_to_a_suppressed_address(
    run_command, run_jobs, sink
):
    contact = await run_command("contact.create", {"name": "Bob", "email": "bob@example.org"})
    payload = {"contact": contact.id, "purpose": "newsletter", "subject": "Hi", "text": "News"}
    with pytest.raises(kith.KithError) as err:
        await run_command("marketing.send", payload)
    assert "never given" in err.value.message
    await run_command(
        "consent.grant", {"contact": contact.id, "purpose": "newsletter", "source": "phone call"}
    )
    await run_command("suppression.add", {"email": "bob@example.org", "reason": "complaint"})
    with pytest.raises(kith.KithError) as err:
        await run_command("marketing.send", payload)
    assert "suppressed" in err.value.message
    await run_jobs()
    assert sink.messages == []


async def test_missing_required_fields_are_named_and_nothing_is_written(
    run_command, http, kith_app
):
    await run_command("form.create", CONTACT_FORM)
    response = await http.post("/f/demo-request", json={"email": "", "company": "X"})
    assert response.status_code == 400
    body = response.json()
    assert {f["field"] for f in body["fields"]} == {"data.name", "data.email"}
    assert (await run_command("contact.list", {})).items == []


async def test_the_honeypot_and_forged_links_are_refused(run_command, http):
    await run_command("form.create", CONTACT_FORM)
    spam = await submit(http, website="http://cheap-pills.example")
    assert spam.status_code == 400 and "automated" in spam.text
    assert (await run_command("contact.list", {})).items == []
    forged = await http.post("/m/unsubscribe/eyJjIjoxLCJwIjoibmV3c2xldHRlciJ9.AAAA")
    assert forged.status_code == 400 and "link" in forged.text.lower()


async def test_too_many_posts_from_one_address_get_429(run_command, http):
    await run_command("form.create", CONTACT_FORM)
    codes = [(await submit(http, email=f"p{i}@example.org")).status_code for i in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]


async def test_an_oversized_post_is_refused(run_command, http):
    await run_command("form.create", CONTACT_FORM)
    response = await http.post(
        "/f/demo-request", data={"name": "x" * 70_000, "email": "a@b.example"}
    )
    assert response.status_code == 413


async def test_a_second_submission_updates_the_same_contact(run_command, http, events):
    await run_command("form.create", {**CONTACT_FORM, "double_opt_in": False})
    await submit(http, name="Ada", email="ada@analytical.example")
    await submit(http, email="ADA@analytical.example", consent="newsletter")
    contacts = (await run_command("contact.list", {})).items
    assert len(contacts) == 1
    (consent,) = (await run_command("consent.list", {"contact": contacts[0].id})).items
    assert consent.status == "granted"  # no double opt-in on this form


async def test_form_definitions_are_checked(run_command):
    no_email = {**CONTACT_FORM, "fields": CONTACT_FORM["fields"][:1]}
    with pytest.raises(kith.KithError) as err:
        await run_command("form.create", no_email)
    assert err.value.fields[0].field == "fields"
    with pytest.raises(kith.KithError) as err:
        await run_command("form.create", {**CONTACT_FORM, "purposes": ["spam_everyone"]})
    assert err.value.fields[0].field == "purposes.0"
    with pytest.raises(kith.KithError) as err:
        await run_command("form.create", {**CONTACT_FORM, "slug": "Not A Slug"})
    assert err.value.fields[0].field == "slug"


async def test_export_gives_everything_held_about_a_person(run_command, http, run_jobs):
    await run_command("form.create", CONTACT_FORM)
    await submit(http, consent="newsletter", message="Call me after 3pm")
    await run_jobs()
    contact_id = (await run_command("contact.list", {})).items[0].id
    export = await run_command("contact.export", {"contact": contact_id})
    assert export.contact["email"] == "ada@analytical.example"
    assert export.consents[0]["purpose"] == "newsletter"
    assert export.submissions[0]["data"]["message"] == "Call me after 3pm"
    assert any(item.get("kind") == "history" for item in export.timeline) or export.timeline
    assert export.complete
