"""The marketing plugin's tables: forms, their submissions, consent and suppressions."""

from __future__ import annotations

from piccolo.columns import JSON, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class MarketingForm(Table, tablename="marketing_forms"):
    slug = Varchar(length=100, unique=True)
    title = Varchar(length=300)
    description = Text(default="")
    fields = JSON(default="[]")  # [{key, label, maps_to, required, kind}]
    purposes = JSON(default="[]")  # consent purposes offered as check boxes
    consent_text = Text(default="")
    double_opt_in = Boolean(default=True)
    make_lead = Boolean(default=True)
    source = Varchar(length=100, default="")
    success_message = Text(default="")
    archived_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


class MarketingSubmission(Table, tablename="marketing_submissions"):
    form_id = Integer(index=True)
    contact_id = Integer(index=True)
    lead_id = Integer(null=True, default=None)
    data = JSON(default="{}")
    attribution = JSON(default="{}")  # utm_*, referrer
    ip = Varchar(length=64, default="")
    created_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


class MarketingConsent(Table, tablename="marketing_consents"):
    contact_id = Integer(index=True)
    purpose = Varchar(length=50)
    status = Varchar(length=20)  # pending | granted | withdrawn
    source = Varchar(length=200, default="")
    proof = JSON(default="{}")  # form, ip, text shown, user agent, when
    granted_at = Timestamptz(null=True, default=None)
    withdrawn_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


class MarketingSuppression(Table, tablename="marketing_suppressions"):
    email = Varchar(length=320, unique=True)
    reason = Varchar(length=50)  # complaint | bounce | manual
    detail = Text(default="")
    created_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


MARKETING_TABLES = [MarketingForm, MarketingSubmission, MarketingConsent, MarketingSuppression]


class MarketingSequence(Table, tablename="marketing_sequences"):
    name = Varchar(length=200, unique=True)
    purpose = Varchar(length=50)  # the consent its emails need
    steps = JSON(default="[]")  # [{kind: email|wait|task, ...}]
    window_start = Integer(default=8)  # sending window, hours in time_zone
    window_end = Integer(default=18)
    time_zone = Varchar(length=50, default="UTC")
    daily_cap = Integer(default=500)  # emails a day for this sequence
    archived_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


class MarketingEnrollment(Table, tablename="marketing_enrollments"):
    sequence_id = Integer(index=True)
    contact_id = Integer(index=True)
    status = Varchar(length=20, index=True)  # active | completed | stopped
    step = Integer(default=0)  # the next step to run
    stopped_reason = Varchar(length=200, null=True, default=None)
    log = JSON(default="[]")
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


class MarketingSend(Table, tablename="marketing_sends"):
    sequence_id = Integer(index=True)
    enrollment_id = Integer()
    contact_id = Integer()
    email_id = Integer()
    sent_at = Timestamptz(default=None, index=True)
    created_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


MARKETING_TABLES += [MarketingSequence, MarketingEnrollment, MarketingSend]


class MarketingSegment(Table, tablename="marketing_segments"):
    name = Varchar(length=200, unique=True)
    description = Text(default="")
    filter = JSON(default="{}")  # the filter language of contact.list
    consent = JSON(default="{}")  # purpose → status the members must have
    inactive_days = Integer(null=True, default=None)  # no activity logged for that long
    conditions = JSON(default="{}")  # min_score, activity, sequence (see segments.py)
    member_count = Integer(default=0)
    computed_at = Timestamptz(null=True, default=None)
    archived_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


class MarketingSegmentMember(Table, tablename="marketing_segment_members"):
    segment_id = Integer(index=True)
    contact_id = Integer(index=True)
    entered_at = Timestamptz(default=None)


MARKETING_TABLES += [MarketingSegment, MarketingSegmentMember]


class MarketingScoring(Table, tablename="marketing_scoring"):
    rules = JSON(default="[]")  # [{name, points, filter | event}]
    mql_threshold = Integer(default=50)
    half_life_days = Integer(default=30)  # event points halve in this many days
    updated_at = Timestamptz(default=None)
    created_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


class MarketingLeadScore(Table, tablename="marketing_lead_scores"):
    lead_id = Integer(unique=True)
    field_points = Integer(default=0)
    event_centipoints = Integer(default=0)  # hundredths of a point, decayed daily
    reasons = JSON(default="{}")  # rule name → points from events
    mql_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=None)
    created_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


MARKETING_TABLES += [MarketingScoring, MarketingLeadScore]
