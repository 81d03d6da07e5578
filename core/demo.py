"""``kith demo``: a realistic data set to explore, made through commands like real data.

The team of ``shared/JOURNEYS.md`` (Ana the sales rep, Ben her manager, Chloé in support, Dev
in ops) plus two more reps; two pipelines with every kind of stage; organizations, contacts
(Ada Lovelace among them), deals in every stage, leads, activities, tasks and tickets; custom
fields and tags. Everything goes through :meth:`Kith.run`, so records carry history and
events; plugins add theirs through ``kith_demo_data``. A seeded ``random.Random`` makes the
same data set every time (dates are relative to now).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .errors import KithError
from .permissions import SYSTEM, Actor
from .tables import Pipeline, Team

if TYPE_CHECKING:
    from .runtime import Kith

FIRST = (
    "Ada Alan Grace Katherine Linus Margaret Tim Barbara Dennis Radia Ken Frances Edsger Hedy "
    "Claude Sophie John Mary Ivan Lucia Omar Priya Wei Amara Lars Ines Mateo Yara Noah Elif"
).split()
LAST = (
    "Hopper Turing Johnson Torvalds Hamilton Berners Liskov Ritchie Perlman Thompson Allen "
    "Dijkstra Lamarr Shannon Wilson Keller Novak Rossi Haddad Sharma Chen Okafor Berg Silva "
    "Garcia Nasser Kowalski Moreau Tanaka Yilmaz"
).split()
ORG_WORDS = (
    "Initech Globex Umbrella Hooli Vandelay Stark Wayne Cyberdyne Tyrell Wonka Soylent Acme "
    "Aperture Gringotts Oscorp Dunder Massive Pied Nakatomi Monarch"
).split()
ORG_KINDS = ("Labs", "Systems", "Logistics", "Health", "Foods", "Energy", "Media", "Bank")
INDUSTRIES = ("Software", "Logistics", "Healthcare", "Retail", "Energy", "Media", "Finance")
COUNTRIES = ("FR", "DE", "GB", "ES", "IT", "NL", "US", "JP", "BR", "IN")
PLANS = ("Pro", "Enterprise", "Starter", "Add-on")
TAGS = ("vip", "newsletter", "event-2026", "partner", "churn-risk")
TICKETS = (
    "Invoices page shows a 500 error",
    "Cannot reset my password",
    "Export to CSV is empty",
    "SSO login loops back to the sign-in page",
    "Webhook deliveries are delayed",
    "Please add a second admin",
    "Charged twice this month",
    "Mobile app crashes on start",
)
USERS = {
    "ana": ("ana@kith.example", "Ana Souza", "agent", "Europe/Madrid"),
    "ben": ("ben@kith.example", "Ben Carter", "manager", "Europe/London"),
    "chloe": ("chloe@kith.example", "Chloé Martin", "agent", "Europe/Paris"),
    "dev": ("dev@kith.example", "Dev Patel", "admin", "Europe/Berlin"),
    "marco": ("marco@kith.example", "Marco Bianchi", "agent", "Europe/Rome"),
    "yuki": ("yuki@kith.example", "Yuki Sato", "agent", "Asia/Tokyo"),
}
DEMO_TEAM = "Sales EMEA"  # its presence means the demo data is loaded
PIPELINES = {
    "Sales": [
        ("Qualification", 10, "open", 14),
        ("Demo", 30, "open", 14),
        ("Proposal", 60, "open", 14),
        ("Negotiation", 80, "open", 21),
        ("Won", 100, "won", None),
        ("Lost", 0, "lost", None),
    ],
    "Renewals": [
        ("Upcoming", 50, "open", 30),
        ("Contacted", 70, "open", 14),
        ("Renewed", 100, "won", None),
        ("Churned", 0, "lost", None),
    ],
}
FIELDS = [
    {
        "entity": "contact",
        "key": "tier",
        "label": "Tier",
        "type": "choice",
        "options": ["Bronze", "Silver", "Gold"],
    },
    {"entity": "contact", "key": "newsletter", "label": "Newsletter", "type": "bool"},
    {"entity": "organization", "key": "employees", "label": "Employees", "type": "number"},
    {
        "entity": "organization",
        "key": "plan",
        "label": "Plan",
        "type": "choice",
        "options": ["Free", "Pro", "Enterprise"],
    },
    {
        "entity": "deal",
        "key": "source",
        "label": "Source",
        "type": "choice",
        "options": ["Inbound", "Outbound", "Partner", "Event"],
    },
    {
        "entity": "deal",
        "key": "competitors",
        "label": "Competitors",
        "type": "multi-choice",
        "options": ["Salesforce", "HubSpot", "Pipedrive", "Spreadsheet"],
    },
    {"entity": "lead", "key": "budget", "label": "Budget", "type": "money"},
    {
        "entity": "ticket",
        "key": "component",
        "label": "Component",
        "type": "choice",
        "options": ["Billing", "Login", "API", "Mobile", "Reports"],
    },
]


@dataclass
class DemoSize:
    """How much of everything (the defaults meet the issue's minimums)."""

    organizations: int = 60
    contacts: int = 220
    deals: int = 90
    leads: int = 40
    activities: int = 300
    tasks: int = 60
    tickets: int = 36

    def scaled(self, factor: float) -> DemoSize:
        return DemoSize(**{k: max(2, int(v * factor)) for k, v in self.__dict__.items()})

    @property
    def steps(self) -> int:
        return 20 + sum(self.__dict__.values())


@dataclass
class DemoResult:
    users: dict[str, Actor] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


Progress = Callable[[int], None]


async def _users(kith: Kith) -> dict[str, Actor]:
    actors: dict[str, Actor] = {}
    for key, (email, name, role, tz) in USERS.items():
        try:
            user = await kith.run("user.get", {"user": email}, SYSTEM)
        except KithError:
            user = await kith.run(
                "user.create", {"email": email, "name": name, "role": role, "time_zone": tz}, SYSTEM
            )
        actors[key] = Actor(user.id, user.role, user.name, user.email, via="demo")
    actors["admin"] = actors["dev"]
    return actors


async def load_demo(
    kith: Kith,
    *,
    seed: int = 1842,
    size: DemoSize | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Fill ``kith``'s database with the demo data set (refused if it is there already)."""
    size = size or DemoSize()
    rng = random.Random(seed)
    tick = progress or (lambda n: None)
    marker = await kith.db.fetchone(kith.db.statements.select_where(Team, ["name"]), [DEMO_TEAM])
    if marker:
        raise KithError(
            "conflict",
            f"The demo data is loaded already (there is a team {DEMO_TEAM!r}).",
            status=409,
        )
    result = DemoResult()
    users = result.users = await _users(kith)
    ana, ben, chloe, dev = users["ana"], users["ben"], users["chloe"], users["dev"]
    reps = [ana, ana, ben, users["marco"], users["yuki"]]
    now = kith.clock.now()

    async def run(name: str, payload: dict[str, Any], actor: Actor) -> Any:
        result.counts[name] = result.counts.get(name, 0) + 1
        return await kith.run(name, payload, actor)

    await run(
        "team.create",
        {
            "name": DEMO_TEAM,
            "lead": ben.user_id,
            "members": [ana.user_id, ben.user_id, users["marco"].user_id],
        },
        dev,
    )
    await run(
        "team.create",
        {
            "name": "Sales APAC",
            "lead": ben.user_id,
            "members": [users["yuki"].user_id],
            "time_zone": "Asia/Tokyo",
        },
        dev,
    )
    support = await run(
        "team.create", {"name": "Support", "lead": chloe.user_id, "members": [chloe.user_id]}, dev
    )
    for spec in FIELDS:
        await run("custom_field.define", spec, dev)
    stages: dict[str, list[str]] = {}
    for name, rows in PIPELINES.items():
        existing = await kith.db.fetchone(
            kith.db.statements.select_where(Pipeline, ["name"]), [name]
        )
        if existing is not None and existing["archived_at"] is None:
            # made by a plugin at `kith init` (the sales plugin's default pipeline): use it
            pipeline = await kith.run("pipeline.get", {"pipeline": existing["id"]}, dev)
            stages[name] = [s.name for s in pipeline.stages if s.archived_at is None]
            continue
        await run(
            "pipeline.create",
            {
                "name": name,
                "is_default": name == "Sales",
                "stages": [
                    {"name": s, "probability": p, "kind": k, "rotting_days": r}
                    for s, p, k, r in rows
                ],
            },
            ben,
        )
        stages[name] = [s for s, *_ in rows]
    tick(20)

    orgs = []
    names = [f"{w} {k}" for w in ORG_WORDS for k in ORG_KINDS]
    rng.shuffle(names)
    for name in names[: size.organizations]:
        domain = name.lower().replace(" ", "") + ".example"
        orgs.append(
            await run(
                "organization.create",
                {
                    "name": name,
                    "domain": domain,
                    "industry": rng.choice(INDUSTRIES),
                    "country": rng.choice(COUNTRIES),
                    "size": rng.choice(["1-10", "11-50", "51-200", "201-1000", "1000+"]),
                    "owner": rng.choice(reps).user_id,
                    "custom": {
                        "employees": rng.randint(3, 5000),
                        "plan": rng.choice(["Free", "Pro", "Pro", "Enterprise"]),
                    },
                },
                rng.choice(reps),
            )
        )
        if rng.random() < 0.2:
            await run(
                "tag.add",
                {
                    "entity": "organization",
                    "record": orgs[-1].id,
                    "tag": rng.choice(["partner", "churn-risk"]),
                },
                ben,
            )
        tick(1)

    others = [(f, la) for f in FIRST for la in LAST if (f, la) != ("Ada", "Lovelace")]
    rng.shuffle(others)
    people = [("Ada", "Lovelace"), *others]
    contacts = []
    for first, last in people[: size.contacts]:
        org = rng.choice(orgs) if rng.random() < 0.85 else None
        domain = org.domain if org else "mail.example"
        owner = rng.choice(reps)
        contact = await run(
            "contact.create",
            {
                "name": f"{first} {last}",
                "email": f"{first}.{last}@{domain}".lower(),
                "title": rng.choice(["CEO", "CTO", "Head of Sales", "Engineer", "Buyer", None]),
                "organization": org.id if org else None,
                "owner": owner.user_id,
                "lifecycle_stage": rng.choice(["lead", "mql", "sql", "opportunity", "customer"]),
                "custom": {
                    "tier": rng.choice(["Bronze", "Silver", "Gold"]),
                    "newsletter": rng.random() < 0.6,
                },
            },
            owner,
        )
        contacts.append(contact)
        if rng.random() < 0.35:
            await run(
                "tag.add",
                {"entity": "contact", "record": contact.id, "tag": rng.choice(TAGS)},
                owner,
            )
        tick(1)

    deals = []
    placed = {name: 0 for name in PIPELINES}
    for i in range(size.deals):
        pipeline = "Sales" if i % 4 else "Renewals"
        stage = stages[pipeline][placed[pipeline] % len(stages[pipeline])]  # every stage
        placed[pipeline] += 1
        contact = rng.choice(contacts)
        owner = rng.choice(reps)
        org_name = next((o.name for o in orgs if o.id == contact.organization_id), contact.name)
        deals.append(
            await run(
                "deal.create",
                {
                    "title": f"{org_name} — {rng.choice(PLANS)}"
                    + (" renewal" if pipeline == "Renewals" else ""),
                    "value": str(rng.choice([1200, 4800, 9600, 24000, 48000, 120000])),
                    "currency": rng.choice(["EUR", "EUR", "EUR", "USD", "GBP"]),
                    "pipeline": pipeline,
                    "stage": stage,
                    "owner": owner.user_id,
                    "contact": contact.id,
                    "organization": contact.organization_id,
                    "expected_close": (now + timedelta(days=rng.randint(-30, 120)))
                    .date()
                    .isoformat(),
                    "custom": {
                        "source": rng.choice(["Inbound", "Outbound", "Partner", "Event"]),
                        "competitors": rng.sample(
                            ["Salesforce", "HubSpot", "Pipedrive", "Spreadsheet"], rng.randint(0, 2)
                        ),
                    },
                },
                owner,
            )
        )
        tick(1)

    for _ in range(size.leads):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        await run(
            "lead.create",
            {
                "name": f"{first} {last}",
                "company": rng.choice(names[size.organizations :]),
                "source": rng.choice(["website", "webinar", "referral", "trade show"]),
                "score": rng.randint(0, 80),
                "owner": rng.choice(reps).user_id,
                "custom": {"budget": f"{rng.choice([5000, 10000, 25000])} EUR"},
            },
            rng.choice(reps),
        )
        tick(1)

    for _ in range(size.activities):
        deal = rng.choice(deals)
        kind = rng.choice(["call", "call", "email", "meeting", "note"])
        await run(
            "activity.log",
            {
                "kind": kind,
                "deal": deal.id,
                "contact": deal.contact_id,
                "subject": rng.choice(
                    [
                        "Intro",
                        "Demo follow-up",
                        "Pricing questions",
                        "Security review",
                        "Contract redlines",
                    ]
                ),
                "body": rng.choice(
                    [
                        "Interested in the Pro plan.",
                        "Wants a demo Thursday.",
                        "Asked for a discount.",
                        "Legal is reviewing.",
                        None,
                    ]
                ),
                "direction": rng.choice(["inbound", "outbound"])
                if kind in ("call", "email")
                else None,
                "duration": f"{rng.randint(5, 60)}m" if kind in ("call", "meeting") else None,
                "occurred_at": (now - timedelta(hours=rng.randint(1, 60 * 24))).isoformat(),
            },
            users["ana"] if deal.owner_id == ana.user_id else ben,
        )
        tick(1)

    for i in range(size.tasks):
        deal = rng.choice(deals)
        owner = next((u for u in reps if u.user_id == deal.owner_id), ana)
        task = await run(
            "task.create",
            {
                "title": rng.choice(
                    ["Send proposal", "Book a demo", "Follow up", "Chase signature"]
                ),
                "due": (now + timedelta(hours=rng.randint(-72, 240))).isoformat(),
                "assignee": owner.user_id,
                "deal": deal.id,
            },
            owner,
        )
        if i % 3 == 0:
            await run("task.complete", {"task": task.id}, owner)
        tick(1)

    for _ in range(size.tickets):
        contact = rng.choice(contacts)
        await run(
            "ticket.create",
            {
                "subject": rng.choice(TICKETS),
                "requester": contact.id,
                "priority": rng.choice(["low", "normal", "normal", "high", "urgent"]),
                "assignee": chloe.user_id if rng.random() < 0.8 else None,
                "team": support.id,
                "channel": rng.choice(["email", "email", "slack", "web", "phone"]),
                "custom": {
                    "component": rng.choice(["Billing", "Login", "API", "Mobile", "Reports"])
                },
            },
            chloe,
        )
        tick(1)

    await kith.hooks.demo_data(kith, users, rng)
    await kith.drain()
    return result
