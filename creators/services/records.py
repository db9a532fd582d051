"""Creating and editing creators, and the creator CSV (export; import in two steps: a preview that
names every bad row and column, then apply — every row or none)."""
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from creators.exceptions import CreatorError
from creators.models import ChangeSource, Creator, CreatorKind, CreatorStatus, Tier
from creators.services.policy import rate_outside_band, tier_policy_in_force
from creators.services.tiers import change_record
from erp.csvutil import RowError, csv_reader

HANDLE_RE = re.compile(r"^[A-Za-z0-9._-]{2,40}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,32}$")
PERCENT = Decimal(100)

EDITABLE = ["handle", "platform_creator_id", "display_name", "kind", "niche", "followers", "country", "email", "phone",
            "messaging_handle", "start_date", "owner", "tags", "notes", "commission_rate_override"]


def handle_clean(value: str) -> str:
    handle = (value or "").strip().lstrip("@")
    if not HANDLE_RE.match(handle):
        raise CreatorError(_("A handle is 2–40 letters, digits, dots, dashes or underscores (without the @), got “%(value)s”.")
                           % {"value": value})
    return handle


def band_problem(rate: Decimal | None, tier: str, policy=None) -> str | None:
    """A message when `rate` lies outside `tier`'s commission band, else None."""
    if rate is None:
        return None
    band = rate_outside_band(rate, tier, policy)
    if band is None:
        return None
    return _("%(rate)s is outside tier %(tier)s's band of %(low)s–%(high)s") % {
        "rate": pct(rate), "tier": tier, "low": pct(band.rate_min), "high": pct(band.rate_max)}


def pct(rate: Decimal) -> str:
    return f"{(Decimal(rate) * PERCENT).quantize(Decimal('0.01'))}%"


def _check_unique(creator: Creator) -> None:
    others = Creator.objects.exclude(pk=creator.pk)
    if others.filter(handle__iexact=creator.handle).exists():
        raise CreatorError(_("Another creator already has the handle @%(handle)s.") % {"handle": creator.handle})
    if creator.platform_creator_id and others.filter(platform_creator_id=creator.platform_creator_id).exists():
        raise CreatorError(_("Another creator already has the platform creator id %(id)s.") % {"id": creator.platform_creator_id})


@transaction.atomic
def creator_save(*, creator: Creator | None = None, data: dict, confirm_outside_band: bool = False, actor=None,
                 initial_tier: str = "", initial_status: str = CreatorStatus.PROSPECT) -> Creator:
    """Create (creator=None) or edit a creator from cleaned `data` (keys of EDITABLE). A
    commission override outside the tier's band is refused unless `confirm_outside_band`; the
    confirmation is kept on the creator. Tier and status change through creators.services.tiers
    (for a new creator: `initial_tier`/`initial_status`, recorded in the history)."""
    is_new = creator is None
    creator = creator or Creator()
    if not is_new:
        creator = Creator.objects.select_for_update().get(pk=creator.pk)
    rate_before = creator.commission_rate_override
    for name in EDITABLE:
        if name in data:
            setattr(creator, name, data[name])
    creator.handle = handle_clean(creator.handle)
    tier = initial_tier if is_new else creator.tier
    problem = band_problem(creator.commission_rate_override, tier)
    if problem and not confirm_outside_band:
        raise CreatorError(_("%(problem)s. Confirm the override to keep it.") % {"problem": problem})
    creator.override_outside_band = bool(problem)
    _check_unique(creator)
    try:
        creator.full_clean(exclude=["tier", "status", "owner"])
    except ValidationError as exc:
        raise CreatorError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    creator.save()
    if creator.commission_rate_override != rate_before:
        _rates_audit(actor, [(creator, rate_before)])
    if is_new and (initial_tier or initial_status != CreatorStatus.PROSPECT):
        change_record(creator=creator, to_tier=initial_tier, to_status=initial_status, source=ChangeSource.MANUAL,
                      reason=_("Added"), actor=actor)
    return creator


def _rates_audit(actor, changes: list[tuple]) -> None:
    """Audit each creator's own commission rate that changed: [(creator, rate before)]."""
    from accounts.services import audit_record_many

    def shown(rate):
        return f"{format((rate * PERCENT).normalize(), 'f')}%" if rate is not None else "—"

    audit_record_many(actor=actor, verb="creator.rate_changed", items=[
        (c, {"handle": c.handle, "from": shown(before), "to": shown(c.commission_rate_override)}) for c, before in changes])


# ---------------------------------------------------------------- CSV

COLUMNS = ["handle", "platform_creator_id", "display_name", "kind", "niche", "followers", "country", "email", "phone",
           "messaging_handle", "start_date", "status", "tier", "owner_email", "tags", "notes", "commission_rate_percent",
           "rate_outside_band_ok"]
MAX_ROWS = 20_000
_TRUE, _FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n", ""}


@dataclass
class CreatorImport:
    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    creates: int = 0
    updates: int = 0


def creator_csv_export(queryset=None) -> Iterator[list]:
    """The creators as rows under COLUMNS (read lazily, for erp.csvutil.csv_response); imports back as is."""
    qs = (queryset if queryset is not None else Creator.objects.all()).select_related("owner").order_by("handle")
    for c in qs.iterator(chunk_size=2000):
        yield [
            c.handle, c.platform_creator_id, c.display_name, c.kind, c.niche, c.followers, c.country, c.email, c.phone, c.messaging_handle,
            c.start_date.isoformat() if c.start_date else "", c.status, c.tier, c.owner.email if c.owner else "", ";".join(c.tags), c.notes,
            (c.commission_rate_override * PERCENT).quantize(Decimal("0.01")) if c.commission_rate_override is not None else "",
            "yes" if c.override_outside_band else "",
        ]


def _choice(value: str, choices) -> str | None:
    v = value.strip().lower()
    for key, label in choices:
        if v in (str(key).lower(), str(label).lower()):
            return key
    return None


def creator_csv_parse(*, text: str) -> CreatorImport:
    from accounts.models import User

    result = CreatorImport()
    reader = csv_reader(text)
    header = [(h or "").strip() for h in (reader.fieldnames or [])]
    if "handle" not in header:
        result.errors.append(RowError(1, "handle", _("required column missing")))
        return result
    # An empty header cell (a trailing comma) is named by its position, so the message says where it is.
    unknown = [h or _("column %(n)s has no name") % {"n": i + 1} for i, h in enumerate(header) if h not in COLUMNS]
    if unknown:
        result.errors.append(RowError(1, ", ".join(unknown), _("unknown column; expected some of %(columns)s") % {"columns": ", ".join(COLUMNS)}))
        return result
    existing = {h: (pk, tier, pid) for pk, h, tier, pid in Creator.objects.annotate(h=Lower("handle")).values_list("pk", "h", "tier", "platform_creator_id")}
    platform_ids = {pid: pk for pk, _tier, pid in existing.values() if pid}
    users = {u.email.lower(): u.pk for u in User.objects.filter(is_active=True).only("pk", "email")}
    policy = tier_policy_in_force()
    seen_handles: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            result.errors.append(RowError(number, "-", _("more than %(max)s rows; split the file") % {"max": MAX_ROWS}))
            break
        if None in raw:
            result.errors.append(RowError(number, "-", _("more values than columns (a comma inside a value needs quotes)")))
            continue
        v = {k.strip(): (val or "").strip() for k, val in raw.items() if k}
        errors_before = len(result.errors)

        def bad(column, reason):
            result.errors.append(RowError(number, column, reason))

        row = {"row": number}
        try:
            row["handle"] = handle_clean(v.get("handle", ""))
        except CreatorError as exc:
            bad("handle", str(exc) if v.get("handle") else _("required"))
            row["handle"] = v.get("handle", "")
        key = row["handle"].lower()
        if key in seen_handles:
            bad("handle", _("duplicate of row %(row)s") % {"row": seen_handles[key]})
        seen_handles.setdefault(key, number)
        match = existing.get(key)
        row["existing_id"] = match[0] if match else None
        pid = v.get("platform_creator_id", "")
        if pid:
            if len(pid) > 64:
                bad("platform_creator_id", _("at most 64 characters"))
            elif pid in seen_ids:
                bad("platform_creator_id", _("duplicate of row %(row)s") % {"row": seen_ids[pid]})
            elif platform_ids.get(pid) not in (None, row["existing_id"]):
                bad("platform_creator_id", _("already belongs to another creator"))
            seen_ids.setdefault(pid, number)
        row["platform_creator_id"] = pid
        for column, limit in (("display_name", 120), ("niche", 60), ("messaging_handle", 80), ("notes", 5000)):
            if len(v.get(column, "")) > limit:
                bad(column, _("at most %(n)s characters") % {"n": limit})
            row[column] = v.get(column, "")[:limit]
        kind = _choice(v.get("kind", "") or CreatorKind.CREATOR, CreatorKind.choices)
        if kind is None:
            bad("kind", _("must be one of %(choices)s") % {"choices": ", ".join(CreatorKind.values)})
        row["kind"] = kind or CreatorKind.CREATOR
        followers = v.get("followers", "") or "0"
        try:
            row["followers"] = int(followers.replace(",", ""))
            if row["followers"] < 0:
                bad("followers", _("cannot be negative, got %(value)s") % {"value": followers})
            elif row["followers"] > 2_000_000_000:
                bad("followers", _("too large"))
        except ValueError:
            bad("followers", _("must be a whole number, got “%(value)s”") % {"value": followers})
        country = v.get("country", "").upper()
        if country and not COUNTRY_RE.match(country):
            bad("country", _("use a two-letter code such as US, got “%(value)s”") % {"value": v["country"]})
        row["country"] = country
        email = v.get("email", "")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                bad("email", _("not an email address: “%(value)s”") % {"value": email})
        row["email"] = email
        phone = v.get("phone", "")
        if phone and not PHONE_RE.match(phone):
            bad("phone", _("not a phone number: “%(value)s”") % {"value": phone})
        row["phone"] = phone
        start = v.get("start_date", "")
        row["start_date"] = None
        if start:
            try:
                row["start_date"] = date.fromisoformat(start)
            except ValueError:
                bad("start_date", _("use the form 2026-03-31, got “%(value)s”") % {"value": start})
        status = _choice(v.get("status", "") or CreatorStatus.PROSPECT, CreatorStatus.choices)
        if status is None:
            bad("status", _("must be one of %(choices)s") % {"choices": ", ".join(CreatorStatus.values)})
        row["status"] = status or CreatorStatus.PROSPECT
        tier = v.get("tier", "").upper()
        if tier and tier not in Tier.values:
            bad("tier", _("must be S, A, B or empty, got “%(value)s”") % {"value": v["tier"]})
        row["tier"] = tier if tier in Tier.values else (match[1] if match else "")
        owner = v.get("owner_email", "").lower()
        if owner and owner not in users:
            bad("owner_email", _("no active staff member with the email “%(value)s”") % {"value": owner})
        row["owner_id"] = users.get(owner)
        tags = [t.strip() for t in re.split(r"[;|；]", v.get("tags", "")) if t.strip()]
        if any(len(t) > 40 for t in tags):
            bad("tags", _("a tag is at most 40 characters"))
        row["tags"] = list(dict.fromkeys(tags))
        rate_text = v.get("commission_rate_percent", "").rstrip("%").strip()
        row["commission_rate_override"] = None
        if rate_text:
            try:
                percent = Decimal(rate_text)
                if not percent.is_finite() or percent < 0 or percent > 100:
                    raise InvalidOperation
                if -percent.as_tuple().exponent > 2:
                    bad("commission_rate_percent", _("at most 2 decimal places"))
                row["commission_rate_override"] = (percent / PERCENT).quantize(Decimal("0.0001"))
            except InvalidOperation:
                bad("commission_rate_percent", _("a percentage between 0 and 100 such as 18.5, got “%(value)s”") % {"value": rate_text})
        ok = v.get("rate_outside_band_ok", "").lower()
        if ok not in _TRUE | _FALSE:
            bad("rate_outside_band_ok", _("use yes or no, got “%(value)s”") % {"value": ok})
        problem = band_problem(row["commission_rate_override"], row["tier"], policy)
        if problem and ok not in _TRUE:
            bad("commission_rate_percent", _("%(problem)s; set rate_outside_band_ok to yes to keep it") % {"problem": problem})
        row["override_outside_band"] = bool(problem)
        if len(result.errors) == errors_before:
            result.rows.append(row)
            if row["existing_id"]:
                result.updates += 1
            else:
                result.creates += 1
    if not result.rows and not result.errors:
        result.errors.append(RowError(2, "-", _("the file has no data rows")))
    return result


@transaction.atomic
def creator_csv_apply(*, text: str, actor=None) -> CreatorImport:
    """Create or update every creator in the file, or none: any error raises CreatorError naming
    the first problems. Tier and status changes are recorded in the history as a CSV import."""
    result = creator_csv_parse(text=text)
    if result.errors:
        raise CreatorError("; ".join(str(e) for e in result.errors[:10]))
    fields = ["handle", "platform_creator_id", "display_name", "kind", "niche", "followers", "country", "email", "phone",
              "messaging_handle", "start_date", "tags", "notes", "commission_rate_override", "override_outside_band"]
    existing = Creator.objects.select_for_update().in_bulk([r["existing_id"] for r in result.rows if r["existing_id"]])
    new, changed, rates_before = [], [], []
    for row in result.rows:
        creator = existing.get(row["existing_id"]) or Creator()
        if creator.commission_rate_override != row["commission_rate_override"]:
            rates_before.append((creator, creator.commission_rate_override))
        for name in fields:
            setattr(creator, name, row[name])
        if row["owner_id"]:
            creator.owner_id = row["owner_id"]
        (changed if creator.pk else new).append((creator, row))
    Creator.objects.bulk_create([c for c, _r in new], batch_size=1000)
    Creator.objects.bulk_update([c for c, _r in changed], fields + ["owner"], batch_size=1000)
    _rates_audit(actor, rates_before)
    reason = _("CSV import")
    for creator, row in new + changed:
        if row["tier"] != creator.tier or row["status"] != creator.status:
            change_record(creator=creator, to_tier=row["tier"], to_status=row["status"], source=ChangeSource.IMPORT, reason=reason,
                          actor=actor)
    return result
