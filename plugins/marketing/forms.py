"""Web forms: define them (``form.*``) and take their submissions (``form.submit``).

A submission is one transaction: the contact is found by its email address or created (a
form fills only fields the contact does not have yet, and custom fields), consent is
recorded with its proof (pending until the opt-in link is clicked when the form asks for
double opt-in), a lead is captured and routed by the sales plugin when the form makes
leads, the submission is kept with its attribution, and ``form.submitted`` is emitted.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import kith
from pydantic import BaseModel, Field, field_validator

from . import consent, links
from .settings import marketing_settings
from .tables import MarketingForm, MarketingSubmission

CONTACT_FIELDS = ("contact.name", "contact.email", "contact.phone", "contact.title")
TARGETS = (*CONTACT_FIELDS, "company", "message")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,98}[a-z0-9]$")
ATTRIBUTION = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer")


class FormField(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$", description="The input's name")
    label: str = Field(min_length=1, max_length=200)
    maps_to: str = Field(
        description="contact.name|email|phone|title, company, message or custom.<key>"
    )
    required: bool = False
    kind: Literal["text", "email", "tel", "textarea"] = "text"

    @field_validator("maps_to")
    @classmethod
    def _target(cls, value: str) -> str:
        if value in TARGETS or re.fullmatch(r"custom\.[a-z][a-z0-9_]{0,49}", value):
            return value
        raise ValueError(f"{value!r}: use one of {', '.join(TARGETS)} or custom.<key>")


class FormIn(kith.Input):
    slug: str = Field(description="Its address: /f/<slug> (lower-case letters, digits, -)")
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=2000)
    fields: list[FormField] = Field(min_length=1, max_length=30)
    purposes: list[str] = Field(default_factory=list, max_length=10)
    consent_text: str = Field("", max_length=2000, description="Shown next to the check boxes")
    double_opt_in: bool = True
    make_lead: bool = Field(True, description="Capture a lead (the sales plugin routes it)")
    source: str = Field("", max_length=100, description="Lead source (default: form:<slug>)")
    success_message: str = Field("Thank you!", max_length=1000)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.fullmatch(value):
            raise ValueError("2-100 lower-case letters, digits and dashes, e.g. 'contact-us'")
        return value


class FormOut(BaseModel):
    id: int
    slug: str
    title: str
    description: str
    fields: list[FormField]
    purposes: list[str]
    consent_text: str
    double_opt_in: bool
    make_lead: bool
    source: str
    success_message: str
    url: str
    archived: bool
    created_at: datetime


class SlugIn(kith.Input):
    slug: str = Field(max_length=100)


class FormList(BaseModel):
    items: list[FormOut]


class Submit(kith.Input):
    slug: str = Field(max_length=100)
    data: dict[str, str] = Field(max_length=60, description="Field key → value")
    consents: list[str] = Field(default_factory=list, max_length=10, description="Purposes ticked")
    ip: str = Field("", max_length=64)
    user_agent: str = Field("", max_length=500)
    attribution: dict[str, str] = Field(default_factory=dict, max_length=10)

    @field_validator("data")
    @classmethod
    def _sizes(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if len(key) > 50 or len(text) > 5000:
                raise ValueError(f"{key[:50]}: at most 5,000 characters")
        return value


class Submitted(BaseModel):
    submission: int
    contact: int
    contact_created: bool
    lead: int | None
    consents: dict[str, str]
    message: str


def form_out(app: Any, row: dict[str, Any]) -> FormOut:
    base = marketing_settings(app).public_url.rstrip("/")
    return FormOut(
        id=row["id"],
        slug=row["slug"],
        title=row["title"],
        description=row["description"],
        fields=[FormField(**f) for f in row["fields"] or []],
        purposes=list(row["purposes"] or []),
        consent_text=row["consent_text"],
        double_opt_in=bool(row["double_opt_in"]),
        make_lead=bool(row["make_lead"]),
        source=row["source"],
        success_message=row["success_message"],
        url=f"{base}/f/{row['slug']}",
        archived=row["archived_at"] is not None,
        created_at=row["created_at"],
    )


async def form_row(ctx: kith.Context, slug: str, field: str = "slug") -> dict[str, Any]:
    row = await ctx.find_one(MarketingForm, slug=slug)
    if row is None or row["archived_at"] is not None:
        raise kith.not_found("form", slug, field)
    return row


def _check_definition(ctx: kith.Context, data: FormIn) -> None:
    keys = [f.key for f in data.fields]
    if len(set(keys)) != len(keys):
        raise kith.invalid("fields", "each field needs its own key")
    if not any(f.maps_to == "contact.email" for f in data.fields):
        raise kith.invalid("fields", "a form needs a field that maps_to contact.email")
    for i, purpose in enumerate(data.purposes):
        consent.check_purpose(ctx, purpose, f"purposes.{i}")


@kith.command("form.create", input=FormIn, output=FormOut, permission="forms.manage")
async def create(ctx: kith.Context, data: FormIn) -> FormOut:
    """Define a web form: its fields and what each fills, the consent it asks for, whether
    it needs double opt-in and makes leads. It answers at ``/f/<slug>``."""
    _check_definition(ctx, data)
    if await ctx.find_one(MarketingForm, slug=data.slug) is not None:
        raise kith.invalid("slug", f"a form is already called {data.slug}", "taken")
    row = await ctx.insert(
        MarketingForm,
        {**data.model_dump(mode="json"), "source": data.source or f"form:{data.slug}"},
    )
    ctx.emit("form.created", "form", row["id"], slug=data.slug)
    return form_out(ctx.kith, row)


@kith.command("form.update", input=FormIn, output=FormOut, permission="forms.manage")
async def update(ctx: kith.Context, data: FormIn) -> FormOut:
    """Change a form (found by its slug): fields, consent, opt-in, leads, texts."""
    _check_definition(ctx, data)
    row = await form_row(ctx, data.slug)
    values = {**data.model_dump(mode="json"), "source": data.source or f"form:{data.slug}"}
    row, diff = await ctx.update(MarketingForm, row, values)
    if diff:
        ctx.emit("form.updated", "form", row["id"], changes=diff)
    return form_out(ctx.kith, row)


@kith.command("form.get", input=SlugIn, output=FormOut, permission="forms.read", read_only=True)
async def get(ctx: kith.Context, data: SlugIn) -> FormOut:
    """One form, with its public URL."""
    return form_out(ctx.kith, await form_row(ctx, data.slug))


@kith.command(
    "form.list", input=kith.Input, output=FormList, permission="forms.read", read_only=True
)
async def list_forms(ctx: kith.Context, data: kith.Input) -> FormList:
    """The forms that take submissions."""
    rows = await ctx.select(MarketingForm, order_by="slug")
    return FormList(items=[form_out(ctx.kith, r) for r in rows if r["archived_at"] is None])


@kith.command("form.archive", input=SlugIn, output=FormOut, permission="forms.manage")
async def archive(ctx: kith.Context, data: SlugIn) -> FormOut:
    """Stop a form taking submissions (its submissions stay)."""
    row = await form_row(ctx, data.slug)
    row, _ = await ctx.update(MarketingForm, row, {"archived_at": ctx.now()}, action="archived")
    ctx.emit("form.archived", "form", row["id"], slug=row["slug"])
    return form_out(ctx.kith, row)


def _values(form: dict[str, Any], data: Submit) -> dict[str, str]:
    """Each field's value by target; a required one missing is an error naming it."""
    out: dict[str, str] = {}
    missing = []
    for spec in form["fields"]:
        value = (data.data.get(spec["key"]) or "").strip()
        if not value:
            if spec.get("required") or spec["maps_to"] == "contact.email":
                missing.append(spec["key"])
            continue
        out[spec["maps_to"]] = value
    unknown = sorted(set(data.data) - {f["key"] for f in form["fields"]})
    if unknown:
        raise kith.invalid(f"data.{unknown[0]}", "this form has no such field", "unknown_field")
    if missing:
        raise kith.KithError(
            "invalid_input",
            f"Please fill in: {', '.join(missing)}",
            [kith.FieldError(f"data.{k}", "is required", "required") for k in missing],
        )
    return out


async def _contact(ctx: kith.Context, values: dict[str, str]) -> tuple[int, bool]:
    """The contact with this email (filled in where empty), or a new one."""
    email = values["contact.email"]
    fields = {k.split(".", 1)[1]: v for k, v in values.items() if k in CONTACT_FIELDS}
    custom = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("custom.")}
    fields["email"] = email
    found = await ctx.find_one(kith.ContactEmail, email=email.strip().lower())
    if found is not None:
        contact = await ctx.find_one(kith.Contact, id=found["contact_id"])
        assert contact is not None
        changes = {k: v for k, v in fields.items() if k != "email" and not contact.get(k)}
        if changes or custom:
            await ctx.run("contact.update", {"contact": contact["id"], **changes, "custom": custom})
        return contact["id"], False
    fields.setdefault("name", email.split("@")[0])
    created = await ctx.run("contact.create", {**fields, "custom": custom})
    return created.id, True


@kith.command("form.submit", input=Submit, output=Submitted, permission="forms.write")
async def submit(ctx: kith.Context, data: Submit) -> Submitted:
    """Take a form submission: contact found by email or created, consent with its proof,
    a lead for the sales plugin to route, the submission with its attribution, and
    ``form.submitted`` — all or nothing."""
    form = await form_row(ctx, data.slug)
    values = _values(form, data)
    offered = list(form["purposes"] or [])
    for purpose in data.consents:
        if purpose not in offered:
            raise kith.invalid("consents", f"this form does not ask for {purpose!r}")
    contact_id, created = await _contact(ctx, values)
    proof = {
        "form": form["slug"],
        "ip": data.ip,
        "user_agent": data.user_agent,
        "text": form["consent_text"],
        "at": ctx.now().isoformat(),
    }
    status = "pending" if form["double_opt_in"] else "granted"
    given: dict[str, str] = {}
    pending: list[str] = []
    for purpose in data.consents:
        row, _ = await consent.record(
            ctx, contact_id, purpose, status, f"form:{form['slug']}", proof
        )
        given[purpose] = row["status"]
        if row["status"] == "pending":
            pending.append(purpose)
    if pending:
        await _send_optin(ctx, contact_id, values["contact.email"], pending, form)
    lead_id = await _lead(ctx, form, values, data)
    attribution = {k: v[:300] for k, v in data.attribution.items() if k in ATTRIBUTION}
    row = await ctx.insert(
        MarketingSubmission,
        {
            "form_id": form["id"],
            "contact_id": contact_id,
            "lead_id": lead_id,
            "data": data.data,
            "attribution": attribution,
            "ip": data.ip,
        },
        record_history=False,
    )
    ctx.record_history("contact", contact_id, "form_submitted", {"form": [None, form["slug"]]})
    ctx.emit(
        "form.submitted",
        "contact",
        contact_id,
        form=form["slug"],
        submission=row["id"],
        lead=lead_id,
        consents=given,
        attribution=attribution,
    )
    return Submitted(
        submission=row["id"],
        contact=contact_id,
        contact_created=created,
        lead=lead_id,
        consents=given,
        message=form["success_message"]
        + (" Please check your inbox to confirm your subscription." if pending else ""),
    )


async def _lead(
    ctx: kith.Context, form: dict[str, Any], values: dict[str, str], data: Submit
) -> int | None:
    if not form["make_lead"] or "lead.capture" not in ctx.kith.registry:
        return None
    source = form["source"] or f"form:{form['slug']}"
    campaign = data.attribution.get("utm_campaign")
    captured = await ctx.run(
        "lead.capture",
        {
            "name": values.get("contact.name") or values["contact.email"].split("@")[0],
            "email": values["contact.email"],
            "company": values.get("company"),
            "phone": values.get("contact.phone"),
            "source": (f"{source} ({campaign})" if campaign else source)[:100],
        },
    )
    return captured.lead.id if captured.lead else None


async def _send_optin(
    ctx: kith.Context, contact_id: int, email: str, purposes: list[str], form: dict[str, Any]
) -> None:
    if "email.send" not in ctx.kith.registry:
        return
    labels = marketing_settings(ctx).purposes
    token = links.optin_token(ctx, contact_id, purposes)
    link = links.url(ctx.kith, "confirm", token)
    wanted = ", ".join(labels.get(p, p) for p in purposes)
    await ctx.run(
        "email.send",
        {
            "to": [email],
            "subject": f"Please confirm: {form['title']}",
            "text": (
                f"You asked to receive: {wanted}.\n\n"
                f"Confirm here (the link works for {marketing_settings(ctx).optin_days} days):\n"
                f"{link}\n\nIf it was not you, ignore this message: nothing will be sent."
            ),
            "contact": contact_id,
        },
    )
