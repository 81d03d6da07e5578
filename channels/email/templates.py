"""The mail Kith writes to customers — acknowledgements, agent replies, rating requests —
rendered from jinja2 templates (plain text and HTML), in jinja2's sandbox.

The bundled templates live in ``templates/``; a file of the same name in the
``templates_dir`` setting (``KITH_EMAIL_TEMPLATES``) replaces one. HTML templates
autoescape: a customer's or an agent's text never becomes markup.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import kith
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from .settings import EmailSettings

BUNDLED = Path(__file__).parent / "templates"
KINDS = ("ack", "reply", "csat")


@lru_cache(maxsize=8)
def environment(templates_dir: str | None) -> SandboxedEnvironment:
    loaders = [FileSystemLoader(templates_dir)] if templates_dir else []
    return SandboxedEnvironment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(BUNDLED)]),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render(settings: EmailSettings, kind: str, values: dict[str, Any]) -> tuple[str, str]:
    """``kind``'s plain text and HTML for ``values``. A template that fails (a typo in a
    replaced one) is a clear error naming the file, and nothing is sent."""
    if kind not in KINDS:
        raise ValueError(f"no mail template kind {kind!r}")
    env = environment(settings.templates_dir)
    context = {"team_name": settings.outbound_from_name, **values}
    body = str(values.get("body") or "")
    context.setdefault("paragraphs", [p for p in body.split("\n\n") if p.strip()] or [body])
    out = []
    for name in (f"{kind}.txt", f"{kind}.html"):
        try:
            out.append(env.get_template(name).render(context))
        except TemplateError as exc:
            raise kith.invalid("template", f"{name}: {exc}", "template_error") from exc
    return out[0].strip() + "\n", out[1]
