"""contact.erase (GDPR): what identifies the person is gone everywhere — fields, addresses,
activities, history values, mail, webhook payloads, automation logs, form data — while the
record stays as a tombstone and counts add up."""

from __future__ import annotations

import json

import kith
import pytest


async def test_erase_scrubs_the_person_everywhere_and_keeps_a_tombstone(
    run_command, kith_app, run_jobs
):
    ada = await run_command(
        "contact.create",
        {"name": "Ada Lovelace", "email": "ada@engines.example", "phone": "+44 20 7946 0001",
         "title": "Countess"},
    )  # fmt: skip
    await run_command("contact.update", {"contact": ada.id, "title": "Analyst"})
    await run_command(
        "activity.log",
        {"kind": "call", "subject": "Ada about engines", "body": "Ada said yes", "contact": ada.id},
    )
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "Lead"}]})
    deal = await run_command("deal.create", {"title": "Engines", "contact": ada.id})
    await run_command("ticket.create", {"subject": "Help", "requester": ada.id})
    await run_jobs()
    await run_command(
        "email.send",
        {"to": ["ada@engines.example"], "subject": "Hello Ada Lovelace",
         "text": "Dear Ada Lovelace", "contact": ada.id},
    )  # fmt: skip
    with pytest.raises(kith.KithError) as err:
        await run_command("contact.erase", {"contact": ada.id, "confirm": "yes"})
    assert err.value.fields[0].field == "confirm"

    erased = await run_command("contact.erase", {"contact": ada.id, "confirm": str(ada.id)})
    assert erased.addresses == 1 and erased.activities == 1

    dump = json.dumps(
        [
            await kith_app.db.fetch(f'SELECT * FROM "{table}"')
            for table in ("contacts", "contact_emails", "activities", "history", "merges",
                          "email_messages", "automation_runs", "service_messages",
                          "marketing_submissions", "webhook_deliveries")
        ],
        default=str,
    )  # fmt: skip
    for secret in ("Lovelace", "ada@engines.example", "7946", "Countess", "Ada said yes"):
        assert secret not in dump, secret
    tombstone = await kith_app.db.fetch(f'SELECT * FROM "contacts" WHERE "id" = {ada.id}')
    assert tombstone[0]["name"] == f"Erased contact #{ada.id}"
    assert tombstone[0]["archived_at"] is not None
    # What is not personal stays: the deal and its link, the counts.
    assert (await run_command("deal.get", {"deal": deal.id})).contact_id == ada.id


async def test_erase_is_admin_only(run_command, make_actor):
    ada = await run_command("contact.create", {"name": "Ada"})
    manager = await make_actor("manager")
    with pytest.raises(kith.KithError) as err:
        await run_command(
            "contact.erase", {"contact": ada.id, "confirm": str(ada.id)}, actor=manager
        )
    assert err.value.code == "forbidden"
