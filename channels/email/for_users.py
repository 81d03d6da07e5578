"""Email for our own users: ``log@`` (BCC and forward), ``leads@``, and command addresses.

* ``log@``: a user BCCs or forwards a sales email; it becomes an ``email`` activity on every
  matched contact (our users and our own addresses excluded), with their organization and
  its open deal. A forward logs the forwarded original (its sender, date and body). Only mail
  from an active user's address is accepted.
* ``leads@``: mail creates a lead through the sales plugin's ``lead.capture`` (routing
  included); a forward by a user makes the lead from the original's sender, the user as source.
* ``kith+<user id>.<code>@``: each user's private command address. The subject and the first
  body lines are ``/kith`` verbs (the grammar Slack uses, :mod:`kith.verbs`), run as that
  user with their role; the answer goes to the user's address on file, never to the From.
  It runs only when the From is the owner's address and, with ``trust_auth_results``, the
  ``Authentication-Results`` header says DKIM or SPF passed. Destructive verbs (won, lost,
  archive, merge) wait for a ``confirm <code>`` reply (:mod:`.confirmations`). Refusals are
  logged with their reason and counted (``email.refusals``).

Handlers run inside the ``email.parse`` job (system); they act for a user with
``ctx.run_as`` so the user's role is checked and history names them.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import kith

from . import confirmations
from .settings import email_settings

log = logging.getLogger("kith.email")
ROTATED = "command_address_rotated"
DESTRUCTIVE = {"deal.won", "deal.lost", "deal.archive", "contact.archive", "contact.merge"}
MAX_COMMAND_LINES = 10


def _noise(message: dict[str, Any]) -> bool:
    return bool({"autoreply", "bulk", "bounce"} & set(message.get("flags") or []))


async def user_by_email(ctx: kith.Context, address: str) -> dict[str, Any] | None:
    user = await ctx.find_one(kith.User, email=address.lower()) if address else None
    if user is None or not user["active"] or user["archived_at"] is not None:
        return None
    return user


def actor_of(user: dict[str, Any], via: str) -> kith.Actor:
    return kith.Actor(user["id"], user["role"], user["name"], user["email"], via=via)


def refused(message: dict[str, Any], reason: str) -> dict[str, Any]:
    log.warning("mail to %s from %s refused: %s", message.get("recipient"), message["sender"],
                reason)  # fmt: skip
    return {"status": "refused", "reason": reason, "error": reason}


# ---- log@ -----------------------------------------------------------------------------------


async def _our_addresses(ctx: kith.Context, addresses: list[str]) -> set[str]:
    domain = "@" + email_settings(ctx).domain
    ours = {a for a in addresses if a.endswith(domain)}
    for address in addresses:
        if await ctx.find_one(kith.User, email=address) is not None:
            ours.add(address)
    return ours


async def _contact(
    ctx: kith.Context, actor: kith.Actor, address: str, name: str, create: bool
) -> Any:
    try:
        return await ctx.run_as(actor, "contact.get", {"contact": address})
    except kith.KithError as err:
        if err.code != "not_found" or not create:
            return None
    display = name or address.split("@")[0].replace(".", " ").title()
    return await ctx.run_as(actor, "contact.create", {"name": display[:200], "email": address})


async def _open_deal(ctx: kith.Context, actor: kith.Actor, organization_id: int | None):
    if organization_id is None:
        return None
    try:
        deals = await ctx.run_as(
            actor,
            "deal.list",
            {"filter": {"organization": organization_id, "status": "open"}, "limit": 1},
        )
    except kith.KithError:
        return None
    return deals.items[0] if deals.items else None


async def log_mail(ctx: kith.Context, message: dict[str, Any]) -> dict[str, Any]:
    """Log a BCC'd or forwarded sales email on the contacts it involves."""
    if _noise(message):
        return {"status": "ignored"}
    user = await user_by_email(ctx, message["sender"])
    if user is None:
        return refused(message, "log@ accepts mail from Kith users' addresses only")
    actor = actor_of(user, "email:log")
    original = message.get("forwarded")
    if "forward" in (message.get("flags") or []) and not original:
        return refused(message, "the forwarded original could not be found in the body")
    if original:
        sender, sender_name = original["sender"], original.get("sender_name") or ""
        people = [original["sender"], *original.get("to", []), *original.get("cc", [])]
        subject, body, when = original["subject"], original["body"], original.get("date")
        direction = "outbound" if await user_by_email(ctx, sender) else "inbound"
    else:  # a BCC: the user wrote to the people in To and Cc
        sender, sender_name = message["sender"], ""
        people = [*message.get("to", []), *message.get("cc", [])]
        subject, body, when = message["subject"], message["text"], message.get("date")
        direction = "outbound"
    people = list(dict.fromkeys(a.lower() for a in people if a))
    ours = await _our_addresses(ctx, people)
    create = email_settings(ctx).log_creates_contacts
    logged = []
    for address in (a for a in people if a not in ours):
        name = sender_name if address == sender else ""
        contact = await _contact(ctx, actor, address, name, create)
        if contact is None:
            continue
        payload: dict[str, Any] = {
            "kind": "email",
            "direction": direction,
            "subject": (subject or "(no subject)")[:500],
            "body": (body or "(no text)")[:200_000],
            "contact": contact.id,
        }
        if when:
            payload["occurred_at"] = when
        if contact.organization_id:
            payload["organization"] = contact.organization_id
            deal = await _open_deal(ctx, actor, contact.organization_id)
            if deal is not None:
                payload["deal"] = deal.id
        activity = await ctx.run_as(actor, "activity.log", payload)
        logged.append(activity.id)
    if not logged:
        return {"status": "ignored", "reason": "no contact to log on (all ours, or unknown)"}
    return {"status": "logged", "activities": logged}


# ---- leads@ ---------------------------------------------------------------------------------


async def lead_mail(ctx: kith.Context, message: dict[str, Any]) -> dict[str, Any]:
    """A lead from the sender, or from a forwarded original's sender."""
    if _noise(message):
        return {"status": "ignored"}
    original = message.get("forwarded")
    forwarder = await user_by_email(ctx, message["sender"]) if original else None
    if forwarder is not None and original:
        sender, name, subject = original["sender"], original.get("sender_name"), original["subject"]
        source = f"email forwarded by {forwarder['email']}"
        notes = original["body"]
    else:
        sender, name, subject = message["sender"], message.get("sender_name"), message["subject"]
        source, notes = "email", message["body"] or message["text"]
    if not sender or await user_by_email(ctx, sender):
        return refused(message, "no customer sender to make a lead from")
    display = name or sender.split("@")[0].replace(".", " ").title()
    captured = await ctx.run("lead.capture", {"name": display[:200], "email": sender,
                                              "source": source[:100]})  # fmt: skip
    lead = captured.lead
    if notes or subject:
        await ctx.run(
            "activity.log",
            {"kind": "email", "direction": "inbound", "lead": lead.id,
             "subject": (subject or "(no subject)")[:500], "body": (notes or "")[:200_000]},
        )  # fmt: skip
    return {"status": "lead", "lead": lead.id}


# ---- command addresses ----------------------------------------------------------------------


async def rotations(ctx: kith.Context, user_id: int) -> int:
    """How many times ``user_id``'s command address was rotated (its history says)."""
    return len(await confirmations.user_history(ctx, user_id, ROTATED))


def command_local(app: kith.Kith, user_id: int, version: int) -> str:
    signed = kith.sign_token(app, "email-command-address", {"u": user_id, "v": version})
    code = hashlib.sha256(signed.encode()).hexdigest()[:20]
    return f"{email_settings(app).command_prefix}+{user_id}.{code}"


async def command_address(ctx: kith.Context, user_id: int) -> str:
    local = command_local(ctx.kith, user_id, await rotations(ctx, user_id))
    return f"{local}@{email_settings(ctx).domain}"


async def _reply(
    ctx: kith.Context, user: dict[str, Any], subject: str, text: str, reply_to: str | None = None
) -> None:
    message: dict[str, Any] = {
        "to": [user["email"]],
        "subject": subject[:500],
        "text": text,
        "headers": {"Auto-Submitted": "auto-replied"},
    }
    if reply_to:
        message["reply_to"] = reply_to  # answering the answer reaches the command address
    await ctx.run("email.send", message)


def _lines(message: dict[str, Any]) -> list[str]:
    subject = message["subject"].strip()
    for prefix in ("re:", "fwd:", "fw:"):
        if subject.lower().startswith(prefix):
            subject = ""
    body = [ln.strip() for ln in (message["body"] or "").splitlines()]
    first = []
    for line in body:
        if not line:
            if first:
                break
            continue
        first.append(line)
    lines = ([subject] if subject else []) + first
    return [ln.removeprefix("/kith ").strip() for ln in lines if ln][:MAX_COMMAND_LINES]


def _result(invocation: kith.Invocation, result: Any) -> str:
    data = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
    if isinstance(data, dict) and "id" not in data:  # {"lead": {...}, "message": ...}
        inner = next((v for v in data.values() if isinstance(v, dict) and "id" in v), None)
        data = inner or data
    if isinstance(data, dict):
        label = next((data[k] for k in ("title", "name", "subject") if data.get(k)), "")
        ident = data.get("id")
        if ident is not None:
            return f"{invocation.command}: #{ident} {label}".strip()
        if "items" in data:
            return f"{invocation.command}: {len(data['items'])} found\n" + "\n".join(
                f"  {i.get('entity', '')} #{i.get('id')} {i.get('label', i.get('name', ''))}"
                for i in data["items"][:20]
            )
    return f"{invocation.command}: done"


async def command_mail(ctx: kith.Context, message: dict[str, Any]) -> dict[str, Any]:
    """Run the verbs of a mail to a user's command address; answer the owner."""
    if _noise(message):
        return {"status": "ignored"}  # never answer an autoreply: no loops
    local = message["recipient"].split("@")[0]
    try:
        user_id = int(local.split("+", 1)[1].split(".", 1)[0])
    except (IndexError, ValueError):
        return refused(message, "not a command address")
    user = await ctx.find_one(kith.User, id=user_id)
    if user is None or not user["active"] or user["archived_at"] is not None:
        return refused(message, "no such user")
    if local != command_local(ctx.kith, user_id, await rotations(ctx, user_id)):
        return refused(message, "unknown or rotated command address")
    if message["sender"] != user["email"].lower():
        return refused(message, "the From is not the address's owner")  # no answer to a spoofer
    if email_settings(ctx).trust_auth_results and message.get("auth") == "fail":
        return refused(message, "DKIM/SPF did not pass (Authentication-Results)")
    actor = actor_of(user, "email:command")
    verbs = ctx.kith.hooks.verbs()
    context = kith.VerbContext(ctx.now(), user["time_zone"] or "UTC")
    answers, ran = [], 0
    for line in _lines(message):
        try:
            confirmed = confirmations.CONFIRM_LINE.match(line)
            to_run = (
                await confirmations.confirm(ctx, user_id, confirmed.group(1)) if confirmed else line
            )
            invocation = kith.parse_line(to_run, verbs, context)
            if invocation.show in ("help", "link"):
                answers.append(f"> {line}\n{kith.usage_text(verbs)}")
                continue
            if invocation.command in DESTRUCTIVE and not confirmed:
                asked = await confirmations.ask(ctx, user_id, line, invocation.command)
                answers.append(f"> {line}\n{asked}")
                continue
            result = None
            for i, payload in enumerate([invocation.payload, *invocation.fallbacks]):
                try:
                    result = await ctx.run_as(actor, invocation.command, payload)
                    break
                except kith.KithError as err:
                    if err.code != "not_found" or i == len(invocation.fallbacks):
                        raise
            if confirmed:
                confirmations.mark_used(ctx, user_id, confirmed.group(1), to_run)
            answers.append(f"> {line}\n{_result(invocation, result)}")
            ran += 1
        except kith.KithError as err:
            detail = "\n".join(f"  {f.field}: {f.message}" for f in err.fields or [])
            answers.append(f"> {line}\nerror: {err.message}" + (f"\n{detail}" if detail else ""))
    if not answers:
        answers.append("No command found. Write one per line, e.g.\n" + kith.usage_text(verbs))
    await _reply(
        ctx,
        user,
        f"Kith: {message['subject'] or 'your commands'}",
        "\n\n".join(answers),
        reply_to=message["recipient"],
    )
    return {"status": "commands", "ran": ran, "lines": len(answers)}
