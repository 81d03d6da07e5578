"""Without a relay, outgoing mail is written to the local maildir."""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy

import pytest
from kith.settings import PluginsFile


@pytest.fixture
def kith_plugins_file(tmp_path) -> PluginsFile:
    return PluginsFile(settings={"email": {"maildir": str(tmp_path / "maildir")}})


async def test_no_relay_writes_to_the_maildir(kith_app, run_jobs, admin, tmp_path):
    out = await kith_app.run(
        "email.send", {"to": ["ada@customer.org"], "subject": "Local", "text": "Hi"}, admin
    )
    await run_jobs()
    box = mailbox.Maildir(tmp_path / "maildir", create=False)
    (raw,) = [bytes(m) for m in box]
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "Local"
    assert msg["Message-ID"] == out.message_id
    (row,) = await kith_app.db.fetch('SELECT "status", "flags" FROM "email_messages"')
    assert (row["status"], row["flags"]) == ("sent", '["maildir"]')


async def test_bad_input_names_the_field(kith_app, admin):
    import kith

    with pytest.raises(kith.KithError) as err:
        await kith_app.run(
            "email.send", {"to": ["not-an-address"], "subject": "x", "text": "y"}, admin
        )
    assert err.value.fields[0].field.startswith("to")
    with pytest.raises(kith.KithError) as err:
        await kith_app.run(
            "email.send",
            {"to": ["a@customer.org"], "subject": "x", "text": "y", "headers": {"Bad\nName": "v"}},
            admin,
        )
    assert err.value.fields[0].field == "headers"
