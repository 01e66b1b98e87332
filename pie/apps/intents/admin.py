import csv
import datetime
import io
import uuid

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from pie.apps.intents import charts, selectors
from pie.apps.intents.models import Certainty, IntentReason, ProgramIntent
from pie.apps.intents.spreadsheets import spreadsheet_safe
from pie.apps.intents.values import InvalidValue, parse_lms_user_id, parse_program_uuid

# The overview lists this many programs, the most certain learners first.
PROGRAMS_SHOWN = 200
# The learners' CSV is streamed in pieces of this many rows.
CSV_CHUNK_ROWS = 1000


@admin.register(IntentReason)
class IntentReasonAdmin(admin.ModelAdmin):
    list_display = ("code", "default_certainty", "description", "modified")
    search_fields = ("code", "description")
    readonly_fields = ("created", "modified")

    def get_readonly_fields(self, request, obj=None):
        # Stored intents point at a reason; renaming its code would rewrite their history.
        if obj is not None:
            return (*self.readonly_fields, "code")
        return self.readonly_fields


def utc_text(moment: datetime.datetime) -> str:
    """A time as staff read it in a list: UTC, to the minute, with the zone said."""
    return f"{moment.astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC"


def utc_iso(moment: datetime.datetime) -> str:
    """ISO 8601 with ``Z``, as the API writes times."""
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def _time_html(moment: datetime.datetime):
    """To the minute, so that a list row stays on one line; the exact time on hover."""
    iso = utc_iso(moment)
    return format_html('<time datetime="{}" title="{}">{}</time>', iso, iso, utc_text(moment))


class CertaintyCodeFilter(admin.SimpleListFilter):
    """Certainty by its code (CERTAIN_YES, ...), as the API and the CSV files write it."""

    title = "certainty"
    parameter_name = "certainty"

    def lookups(self, request, model_admin):
        return [(code, code) for code in Certainty.values]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(certainty=self.value())


@admin.register(ProgramIntent)
class ProgramIntentAdmin(admin.ModelAdmin):
    """
    Read-only: intents are immutable, new ones come from the API, the import or events, and
    only retirement deletes them. Also home to the staff insights: the programs overview, a
    page per program and its learners as CSV (``get_urls``).
    """

    list_display = (
        "lms_user_id",
        "program",
        "reason",
        "certainty_code",
        "effective",
        "recorded",
    )
    list_filter = ("reason", CertaintyCodeFilter, "effective_timestamp", "created")
    list_select_related = ("reason",)
    search_fields = ("lms_user_id", "program_uuid")
    search_help_text = "An LMS user id (digits) or a program UUID."
    date_hierarchy = "effective_timestamp"
    show_full_result_count = False
    # The detail page: codes and UTC, as in the list, with the program's UUID in full.
    fields = readonly_fields = (
        "lms_user_id",
        "program_detail",
        "reason",
        "certainty_code",
        "effective_timestamp_iso",
        "recorded_iso",
    )

    def get_changelist_instance(self, request):
        """The list, with each shown intent's program title: one lookup for the page's rows."""
        changelist = super().get_changelist_instance(request)
        titles = selectors.program_titles(
            program_uuids={intent.program_uuid for intent in changelist.result_list}
        )
        for intent in changelist.result_list:
            program = titles.get(intent.program_uuid)
            intent.program_title = program.title if program else ""
        return changelist

    @admin.display(description="program", ordering="program_uuid")
    def program(self, intent):
        """The UUID's first 8 digits (the full one on hover), linked to the program page."""
        return format_html(
            '<a href="{}" title="{}"><code>{}…</code></a>{}',
            reverse("admin:intents_programintent_program", args=[intent.program_uuid]),
            intent.program_uuid,
            str(intent.program_uuid)[:8],
            format_html(
                ' <span class="program-title" title="{}">{}</span>',
                intent.program_title,
                intent.program_title,
            )
            if intent.program_title
            else "",
        )

    @admin.display(description="program")
    def program_detail(self, intent):
        program = selectors.program_titles(program_uuids=[intent.program_uuid]).get(
            intent.program_uuid
        )
        return format_html(
            '<a href="{}"><code>{}</code></a>{}',
            reverse("admin:intents_programintent_program", args=[intent.program_uuid]),
            intent.program_uuid,
            format_html(" {}", program.title) if program else "",
        )

    @admin.display(description="certainty", ordering="certainty")
    def certainty_code(self, intent):
        return intent.certainty

    @admin.display(description="effective (UTC)", ordering="effective_timestamp")
    def effective(self, intent):
        return _time_html(intent.effective_timestamp)

    @admin.display(description="recorded (UTC)", ordering="created")
    def recorded(self, intent):
        return _time_html(intent.created)

    @admin.display(description="effective timestamp (UTC)")
    def effective_timestamp_iso(self, intent):
        return utc_iso(intent.effective_timestamp)

    @admin.display(description="recorded (UTC)")
    def recorded_iso(self, intent):
        return utc_iso(intent.created)

    def get_search_results(self, request, queryset, search_term):
        """Exact, index-friendly matches instead of admin's default LIKE on every field."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            try:
                return queryset.filter(lms_user_id=parse_lms_user_id(term)), False
            except InvalidValue:
                return queryset.none(), False
        try:
            return queryset.filter(program_uuid=uuid.UUID(term)), False
        except ValueError:
            return queryset.none(), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Retirement is the only way a learner's intents go (docs/retirement.rst).
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        try:
            searched = parse_program_uuid(request.GET.get("q", ""))
        except InvalidValue:
            searched = None
        extra_context["searched_program_uuid"] = searched
        # The navigation sidebar takes a quarter of a 1,280 px screen that the list's six
        # columns need; the breadcrumbs still lead everywhere.
        extra_context["is_nav_sidebar_enabled"] = False
        return super().changelist_view(request, extra_context)

    # Staff insights.

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("programs/", view(self.programs_view), name="intents_programintent_programs"),
            path(
                "programs/<str:program>/",
                view(self.program_view),
                name="intents_programintent_program",
            ),
            path(
                "programs/<str:program>/learners.csv",
                view(self.program_learners_csv_view),
                name="intents_programintent_program_csv",
            ),
            *super().get_urls(),
        ]

    def _context(self, request, **context):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **context}

    def _known_program(self, program: str) -> tuple[uuid.UUID, dict[str, int], object]:
        """The program's UUID, summary and Program row (or None); 404 unless PIE knows it."""
        try:
            program_uuid = parse_program_uuid(program)
        except InvalidValue:
            raise Http404("Not a program UUID.") from None
        summary = selectors.program_intent_summary(program_uuid=program_uuid)
        known = selectors.program_titles(program_uuids=[program_uuid]).get(program_uuid)
        if not any(summary.values()) and known is None:
            raise Http404("No intents for this program.")
        return program_uuid, summary, known

    def programs_view(self, request):
        """Programs ranked by learners with a certain intent; a UUID search opens one."""
        context = self._context(request, title="Programs by learners' intent")
        term = request.GET.get("q", "").strip()
        if term:
            try:
                program_uuid = parse_program_uuid(term)
            except InvalidValue as error:
                context["search_error"] = str(error)
            else:
                return redirect("admin:intents_programintent_program", program_uuid)
        programs = selectors.programs_ranked(limit=PROGRAMS_SHOWN)
        titles = selectors.program_titles(program_uuids=[row["program_uuid"] for row in programs])
        for row in programs:
            row["program"] = titles.get(row["program_uuid"])
        context.update(
            programs=programs, programs_shown=PROGRAMS_SHOWN, certainties=Certainty.values, q=term
        )
        return TemplateResponse(request, "admin/intents/programs.html", context)

    def program_view(self, request, program):
        """One program: learners per certainty, intents per month, reasons, the export."""
        context = self._context(request)
        program_uuid, summary, known = self._known_program(program)
        months = charts.monthly_counts(
            selectors.program_intents_per_month(program_uuid=program_uuid)
        )
        chart_title = "Intents per month (UTC, by effective time) and certainty"
        context.update(
            title=known.title if known else f"Program {program_uuid}",
            program_uuid=program_uuid,
            program=known,
            summary=[(code, summary[code]) for code in Certainty.values],
            learners=sum(summary.values()),
            months=[(month.month, [month.counts[c] for c in Certainty.values]) for month in months],
            certainties=Certainty.values,
            chart=charts.monthly_intents_svg(months, title=chart_title) if months else None,
            chart_title=chart_title,
            reasons=selectors.program_reasons(program_uuid=program_uuid),
        )
        return TemplateResponse(request, "admin/intents/program.html", context)

    def program_learners_csv_view(self, request, program):
        """Each learner of the program with their current best intent, streamed as CSV."""
        self._context(request)
        program_uuid, _, _ = self._known_program(program)
        rows = selectors.program_learners_current_intents(program_uuid=program_uuid)

        def chunks():
            # Pieces of CSV_CHUNK_ROWS rows rather than one per line: each piece costs a trip
            # through the response machinery, whose cost outweighs a line's.
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(selectors.PROGRAM_LEARNER_FIELDS)
            for number, (lms_user_id, certainty, reason, effective_timestamp) in enumerate(rows, 1):
                writer.writerow(
                    [
                        lms_user_id,
                        certainty,
                        spreadsheet_safe(reason or ""),
                        utc_iso(effective_timestamp),
                    ]
                )
                if number % CSV_CHUNK_ROWS == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="program-{program_uuid}-learners.csv"'
        )
        return response
