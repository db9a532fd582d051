from datetime import timedelta

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bi.selectors import Filters
from creators.models import Tier
from erp.ids import whole
from erp.l10n import business_today
from orders.models import Channel
from warehouses.models import Warehouse

PERIODS = [("7", _("Last 7 days")), ("30", _("Last 30 days")), ("90", _("Last 90 days")), ("365", _("Last 365 days")),
           ("month", _("This month")), ("last_month", _("Last month")), ("custom", _("Custom dates"))]
MAX_DAYS = 3 * 366


class PeriodForm(forms.Form):
    """The period and filters every cockpit page shares (all optional; the default is the last 30 days, by day)."""

    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False, initial="30")
    first = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("All channels"))] + list(Channel.choices))
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), required=False, queryset=Warehouse.objects.all(), empty_label=_("All warehouses"))
    grain = forms.ChoiceField(label=_("Chart by"), required=False, choices=[("", _("Automatic")), ("day", _("Day")), ("week", _("Week")), ("month", _("Month"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Labels with a number in them are made per request, in the user's language.
        self.fields["tier"].choices = ([("", gettext("All tiers"))] + [(t, gettext("Tier %(tier)s") % {"tier": t}) for t, _l in Tier.choices]
                                       + [("-", gettext("No creator"))])

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            first, last = data.get("first"), data.get("last")
            if not first:
                self.add_error("first", _("Give the first day of the period."))
            if not last:
                self.add_error("last", _("Give the last day of the period."))
            if first and last and first > last:
                self.add_error("last", _("The last day is before the first day."))
            if first and last and (last - first).days + 1 > MAX_DAYS:
                self.add_error("first", _("A period can be at most three years long."))
        return data

    def filters(self) -> Filters:
        """The chosen filters; the defaults for anything missing or invalid."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        today = business_today()
        period = data.get("period") or "30"
        if period == "custom" and data.get("first") and data.get("last"):
            first, last = data["first"], data["last"]
        elif period == "month":
            first, last = today.replace(day=1), today
        elif period == "last_month":
            last = today.replace(day=1) - timedelta(days=1)
            first = last.replace(day=1)
        else:
            days = whole(period, maximum=3660) or 30
            first, last = today - timedelta(days=days - 1), today
        length = (last - first).days + 1
        grain = data.get("grain") or ("day" if length <= 45 else "week" if length <= 200 else "month")
        warehouse = data.get("warehouse")
        return Filters(first=first, last=last, channel=data.get("channel") or "", tier=data.get("tier") or "",
                       warehouse_id=warehouse.pk if warehouse else None, grain=grain)
