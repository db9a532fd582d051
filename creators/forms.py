import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User
from commissions.periods import SettlementCycle
from creators.models import ContactMethod, Creator, CreatorKind, CreatorStatus, SupportLevel, Tier
from creators.services.metrics import add_months

PERCENT = Decimal(100)


def staff_choices():
    return User.objects.filter(is_active=True).order_by("full_name", "email")


class CreatorFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", _("All tiers"))] + list(Tier.choices) + [("none", _("No tier yet"))])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All statuses"))] + list(CreatorStatus.choices))
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds"))] + list(CreatorKind.choices))
    niche = forms.ChoiceField(label=_("Niche"), required=False)
    owner = forms.ModelChoiceField(label=pgettext_lazy("creator", "Owner"), required=False, queryset=User.objects.none(), empty_label=_("All owners"))
    month = forms.ChoiceField(label=_("Month"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=[
        ("gmv", _("GMV")), ("roi", _("ROI")), ("conversion", _("Conversion")), ("orders", _("Orders")), ("followers", _("Followers")),
        ("handle", _("Handle"))])
    asc = forms.BooleanField(required=False)

    def __init__(self, *args, niches=(), this_month, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["niche"].choices = [("", _("All niches"))] + [(n, n) for n in niches]
        self.fields["owner"].queryset = staff_choices()
        months = [add_months(this_month, -i) for i in range(12)]
        self.fields["month"].choices = [(m.isoformat(), m.strftime("%Y-%m")) for m in months]


class CreatorForm(forms.ModelForm):
    tags_text = forms.CharField(label=_("Tags"), required=False, help_text=_("Separated by commas, e.g. skincare, live, LA."))
    rate_percent = forms.DecimalField(label=_("Commission rate override (%)"), required=False, min_value=0, max_value=100, decimal_places=2,
                                      help_text=_("Leave empty to use the tier's default rate."))
    confirm_outside_band = forms.BooleanField(label=_("Yes, keep this rate even though it is outside the tier's band"), required=False)

    class Meta:
        model = Creator
        fields = ["handle", "platform_creator_id", "display_name", "kind", "niche", "followers", "country", "email", "phone",
                  "messaging_handle", "start_date", "owner", "notes"]
        widgets = {"start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_choices()
        if self.instance.pk:
            self.initial["tags_text"] = ", ".join(self.instance.tags)
            if self.instance.commission_rate_override is not None:
                self.initial["rate_percent"] = (self.instance.commission_rate_override * PERCENT).quantize(Decimal("0.01"))
            self.initial["confirm_outside_band"] = self.instance.override_outside_band

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError(_("Use a two-letter code such as US."))
        return country

    def clean_tags_text(self):
        tags = [t.strip() for t in re.split(r"[,，;；]", self.cleaned_data["tags_text"]) if t.strip()]
        if any(len(t) > 40 for t in tags):
            raise forms.ValidationError(_("A tag is at most 40 characters."))
        return list(dict.fromkeys(tags))

    def service_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["tags"] = self.cleaned_data["tags_text"]
        rate = self.cleaned_data.get("rate_percent")
        data["commission_rate_override"] = (rate / PERCENT).quantize(Decimal("0.0001")) if rate is not None else None
        return data


class CreatorCreateForm(CreatorForm):
    initial_status = forms.ChoiceField(label=_("Status"), choices=CreatorStatus.choices, initial=CreatorStatus.PROSPECT)
    initial_tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", _("No tier yet (set by the first review)"))] + list(Tier.choices))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("initial_status") not in (None, CreatorStatus.PROSPECT) and not cleaned.get("initial_tier"):
            self.add_error("initial_tier", _("Choose a tier for a creator who is not a prospect."))
        return cleaned


class TierSetForm(forms.Form):
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", "—")] + list(Tier.choices))
    status = forms.ChoiceField(label=_("Status"), choices=CreatorStatus.choices)
    reason = forms.CharField(label=_("Why"), max_length=500)


class ContactForm(forms.Form):
    method = forms.ChoiceField(label=_("How"), choices=ContactMethod.choices)
    summary = forms.CharField(label=_("Summary"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    next_step = forms.CharField(label=_("Next step"), max_length=200, required=False)


class SampleForm(forms.Form):
    sku_code = forms.CharField(label=_("SKU code"), max_length=64)
    warehouse = forms.ModelChoiceField(label=_("Ship from"), queryset=None, empty_label=None)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=10_000)
    sent_on = forms.DateField(label=_("Sent on"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    content_url = forms.URLField(label=_("Linked content"), required=False, assume_scheme="https")
    notes = forms.CharField(label=_("Notes"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        from warehouses.models import Warehouse

        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = Warehouse.objects.filter(is_active=True).order_by("code")

    def clean_sku_code(self):
        from inventory.models import SKU

        code = self.cleaned_data["sku_code"].strip()
        sku = SKU.objects.filter(code__iexact=code, is_active=True).first()
        if sku is None:
            raise forms.ValidationError(_("No active SKU with the code %(code)s.") % {"code": code})
        return sku


class ReviewDecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class PolicyForm(forms.Form):
    """The whole policy on one form: settings plus one set of fields per tier (prefixed S_, A_, B_)."""

    effective_from = forms.DateField(label=_("Effective from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    probation_after_flat_months = forms.IntegerField(label=_("Probation after months without improvement"), min_value=1, max_value=24)
    scarcity_days_of_cover = forms.IntegerField(label=_("Stock is scarce below (days of cover)"), min_value=0, max_value=365)
    contact_every_days = forms.IntegerField(label=_("Call S-tier creators at least every (days)"), min_value=1, max_value=90)
    note = forms.CharField(label=_("What changed"), max_length=200, required=False)

    TIER_FIELDS = ["min_monthly_orders", "min_conversion_percent", "min_roi", "rate_min_percent", "rate_max_percent", "default_percent",
                   "settlement_cycle", "supply_priority", "waits_when_scarce", "support_level"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        narrow = {"style": "width:5.5rem"}
        def percent_field(label, required=True):
            return forms.DecimalField(label=label, required=required, min_value=0, max_value=100, decimal_places=2,
                                      widget=forms.NumberInput(attrs={**narrow, "step": "0.01"}))

        for tier in Tier.values:
            self.fields[f"{tier}_min_monthly_orders"] = forms.IntegerField(label=_("Monthly orders from"), min_value=0, widget=forms.NumberInput(attrs={"style": "width:6.5rem"}))
            self.fields[f"{tier}_min_conversion_percent"] = percent_field(_("Min. conversion %"), required=False)
            self.fields[f"{tier}_min_roi"] = forms.DecimalField(label=_("Min. ROI"), required=False, min_value=0, max_digits=8, decimal_places=2,
                                                                 widget=forms.NumberInput(attrs={**narrow, "step": "0.01"}))
            self.fields[f"{tier}_rate_min_percent"] = percent_field(_("Commission from %"))
            self.fields[f"{tier}_rate_max_percent"] = percent_field(_("up to %"))
            self.fields[f"{tier}_default_percent"] = percent_field(_("Default %"))
            self.fields[f"{tier}_settlement_cycle"] = forms.ChoiceField(label=_("Settlement"), choices=SettlementCycle.choices,
                                                                        widget=forms.Select(attrs={"style": "width:auto"}))
            self.fields[f"{tier}_supply_priority"] = forms.IntegerField(label=_("Supply priority"), min_value=1, max_value=9,
                                                                         widget=forms.NumberInput(attrs={"style": "width:4rem"}))
            self.fields[f"{tier}_waits_when_scarce"] = forms.BooleanField(label=_("Waits when scarce"), required=False)
            self.fields[f"{tier}_support_level"] = forms.ChoiceField(label=_("Support"), choices=SupportLevel.choices,
                                                                     widget=forms.Select(attrs={"style": "width:auto"}))

    def tier_rows(self):
        return [(tier, [self[f"{tier}_{name}"] for name in self.TIER_FIELDS]) for tier in Tier.values]

    @classmethod
    def initial_from(cls, policy, effective_from):
        initial = {"effective_from": effective_from, "probation_after_flat_months": policy.probation_after_flat_months,
                   "scarcity_days_of_cover": policy.scarcity_days_of_cover, "contact_every_days": policy.contact_every_days}
        def pct(rate):
            return (rate * PERCENT).quantize(Decimal("0.01")) if rate is not None else None

        for band in policy.bands.all():
            t = band.tier
            initial.update({
                f"{t}_min_monthly_orders": band.min_monthly_orders,
                f"{t}_min_conversion_percent": pct(band.min_conversion_rate),
                f"{t}_min_roi": band.min_roi, f"{t}_rate_min_percent": pct(band.rate_min), f"{t}_rate_max_percent": pct(band.rate_max),
                f"{t}_default_percent": pct(band.default_rate), f"{t}_settlement_cycle": band.settlement_cycle,
                f"{t}_supply_priority": band.supply_priority, f"{t}_waits_when_scarce": band.waits_when_scarce,
                f"{t}_support_level": band.support_level,
            })
        return initial

    def bands(self):
        from creators.services.policy import BandInput

        c = self.cleaned_data

        def rate(v):
            return (v / PERCENT).quantize(Decimal("0.0001")) if v is not None else None

        return [BandInput(
            tier=t, min_monthly_orders=c[f"{t}_min_monthly_orders"], min_conversion_rate=rate(c.get(f"{t}_min_conversion_percent")),
            min_roi=c.get(f"{t}_min_roi"), rate_min=rate(c[f"{t}_rate_min_percent"]), rate_max=rate(c[f"{t}_rate_max_percent"]),
            default_rate=rate(c[f"{t}_default_percent"]), settlement_cycle=c[f"{t}_settlement_cycle"],
            supply_priority=c[f"{t}_supply_priority"], waits_when_scarce=c[f"{t}_waits_when_scarce"], support_level=c[f"{t}_support_level"],
        ) for t in Tier.values]
