"""The chat verb ``segment NAME`` (Slack ``/kith segment Newsletter``, email commands)."""

from __future__ import annotations

import kith


def _parse(words: list[str], context: kith.VerbContext) -> kith.Invocation:
    if not words:
        raise kith.verb_error(SEGMENT, "segment", "name the segment")
    return kith.Invocation("segment.get", {"segment": " ".join(words)})


SEGMENT = kith.Verb(
    "segment",
    ("segment NAME",),
    "How many contacts a marketing segment holds",
    _parse,
    ("segment Newsletter subscribers",),
)
VERBS = [SEGMENT]
