"""``marketing.send``: the only way marketing mail leaves Kith, through the consent gate.

The message is refused — field ``contact``, with the reason — unless the contact granted
consent for the purpose, has an address, and the address is neither suppressed nor
bounced. Subject and text are jinja2 templates rendered in the sandbox with the contact's
fields (``{{ contact.first_name }}``). Every message carries a signed unsubscribe link in
its text and RFC 8058 one-click ``List-Unsubscribe`` / ``List-Unsubscribe-Post`` headers.
"""

from __future__ import annotations

from typing import Any

import kith
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, Field

from . import consent, links
from .settings import marketing_settings

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class Send(kith.Input):
    contact: int
    purpose: str = Field(max_length=50, description="The consent the message needs")
    subject: str = Field(min_length=1, max_length=500, description="A jinja2 template")
    text: str = Field(min_length=1, max_length=200_000, description="A jinja2 template")
    reply_to_replies: bool = Field(
        False, description="Replies go to replies@ (a reply stops the contact's sequences)"
    )


class SendOut(BaseModel):
    email: int
    to: str
    unsubscribe_url: str


def render(field: str, template: str, variables: dict[str, Any]) -> str:
    try:
        return _ENV.from_string(template).render(**variables)
    except TemplateError as err:
        raise kith.invalid(field, f"the template does not render: {err}", "template") from None


@kith.command("marketing.send", input=Send, output=SendOut, permission="marketing.write")
async def send(ctx: kith.Context, data: Send) -> SendOut:
    """Send one marketing email to a contact — only with their consent for ``purpose``,
    never to a suppressed or bounced address — with a one-click unsubscribe link."""
    consent.check_purpose(ctx, data.purpose)
    allowed, reason, address = await consent.may_send(ctx, data.contact, data.purpose)
    if not allowed:
        raise kith.KithError(
            "no_consent",
            f"Not sent to contact {data.contact}: {reason}.",
            [kith.FieldError("contact", reason, "no_consent")],
            status=409,
        )
    contact = await consent.contact_row(ctx, data.contact)
    name = contact.get("name") or ""
    variables = {
        "contact": {
            "name": name,
            "first_name": name.split()[0] if name.split() else "",
            "email": address,
            "title": contact.get("title") or "",
        }
    }
    subject = render("subject", data.subject, variables)
    text = render("text", data.text, variables)
    url = links.url(
        ctx.kith, "unsubscribe", links.unsubscribe_token(ctx.kith, data.contact, data.purpose)
    )
    message: dict[str, Any] = {}
    domain = getattr(ctx.plugin_settings("email"), "domain", None)
    if data.reply_to_replies and domain:
        message["reply_to"] = f"{marketing_settings(ctx).replies_address}@{domain}"
    sent = await ctx.run(
        "email.send",
        {
            **message,
            "to": [address],
            "subject": subject,
            "text": f"{text}\n\n--\nUnsubscribe: {url}",
            "contact": data.contact,
            "headers": {
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        },
    )
    ctx.emit("marketing.email_sent", "contact", data.contact, purpose=data.purpose, email=sent.id)
    return SendOut(email=sent.id, to=address, unsubscribe_url=url)
