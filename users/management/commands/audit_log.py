import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from schools.management.districts import district_for_command
from users.selectors import audit_event_list

BAD_SINCE = '--since "{value}": give a date as YYYY-MM-DD.'
NO_EVENTS = "No audit events for {district}{since}."


class Command(BaseCommand):
    help = (
        "Print a district's audit trail, oldest first: when (district time), who, from which address, what, "
        "the import and the user concerned, and the ids and counts recorded. Commands run without --as show "
        "as (command)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG", help="The district's slug.")
        parser.add_argument("--since", metavar="YYYY-MM-DD", help="Only events on or after this day (district time).")

    def handle(self, *args, district, since=None, **options):
        district_obj = district_for_command(district)
        start = None
        if since:
            try:
                day = datetime.date.fromisoformat(since)
            except ValueError:
                raise CommandError(BAD_SINCE.format(value=since))
            start = datetime.datetime.combine(day, datetime.time.min, tzinfo=district_obj.tzinfo)
        events = audit_event_list(district=district_obj, since=start).order_by("created_at", "id")
        printed = 0
        for event in events.iterator(chunk_size=2000):
            self.stdout.write(self._line(event, district_obj.tzinfo))
            printed += 1
        if not printed:
            self.stderr.write(NO_EVENTS.format(district=district_obj.slug, since=f" since {since}" if since else ""))

    @staticmethod
    def _line(event, tz) -> str:
        parts = [
            event.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z"),
            event.actor_label or "(command)",
            event.ip_address or "-",
            event.get_action_display(),
        ]
        if event.job_id:
            parts.append(f"import {event.job.number}" if event.job else f"import id {event.job_id}")
        if event.subject_user_id:
            user = event.subject_user
            parts.append(f"user {user.district_user_id or user.username}" if user else f"user id {event.subject_user_id}")
        if event.detail:
            parts.append(json.dumps(event.detail, sort_keys=True))
        return "  ".join(parts)
