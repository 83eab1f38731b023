import datetime

from django.core.management.base import BaseCommand, CommandError

from imports.management.commands._common import get_district
from sync import selectors, services
from sync.dropfolder import district_folder
from sync.models import SyncSource


def _time(value: str):
    if value == "off":
        return None
    try:
        return datetime.datetime.strptime(value, "%H:%M").time()
    except ValueError:
        raise CommandError(f'--schedule takes HH:MM or off, got "{value}".')


class Command(BaseCommand):
    help = "Set up a district's automated roster sync (drop folder or OneRoster API), or test its connection."

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG")
        parser.add_argument("--source", choices=[c for c, _ in SyncSource.choices])
        parser.add_argument("--url", help="OneRoster base URL, e.g. https://sis.example/ims/oneroster/v1p1")
        parser.add_argument("--client-id")
        parser.add_argument("--client-secret-file", metavar="PATH", help="A file holding the client secret (never on the command line).")
        parser.add_argument("--oneroster-version", choices=["1.1", "1.2"])
        parser.add_argument("--token-url", help="1.2 only; default URL/token.")
        parser.add_argument("--types", help="user_data[,demographics,...]")
        roster = parser.add_mutually_exclusive_group()
        roster.add_argument("--full-roster", dest="full_roster", action="store_true", default=None)
        roster.add_argument("--no-full-roster", dest="full_roster", action="store_false")
        parser.add_argument("--include-manual-users", action="store_true", default=None,
                            help="Full roster also disables users made by hand or by manual imports.")
        parser.add_argument("--schedule", metavar="HH:MM|off")
        parser.add_argument("--mapping-from", type=int, metavar="IMPORT_NUMBER", help="Take mappings from this past import.")
        parser.add_argument("--hold-changed", type=int, metavar="PCT")
        parser.add_argument("--hold-disabled", type=int, metavar="PCT")
        parser.add_argument("--hold-errors", type=int, metavar="PCT")
        parser.add_argument("--daily-summary", choices=["on", "off"])
        parser.add_argument("--test", action="store_true", help="Test the OneRoster connection with the stored settings.")

    def handle(self, *args, **o):
        district = get_district(o["district"])
        cfg = selectors.sync_settings_get(district=district)
        changing = any(o[k] is not None for k in (
            "source", "url", "client_id", "client_secret_file", "oneroster_version", "token_url", "types", "full_roster",
            "include_manual_users", "schedule", "mapping_from", "hold_changed", "hold_disabled", "hold_errors", "daily_summary"))
        if changing:
            cfg = self._save(district, cfg, o)
            self.stdout.write(self._describe(cfg))
        if o["test"]:
            if cfg is None:
                raise CommandError(services.ERROR_NOT_SET_UP.format(district=district.slug))
            try:
                self.stdout.write(services.sync_connection_test(cfg=cfg))
            except services.SyncRefused as exc:
                raise CommandError(str(exc))
        elif not changing:
            self.stdout.write(self._describe(cfg) if cfg else services.ERROR_NOT_SET_UP.format(district=district.slug))

    def _save(self, district, cfg, o):
        secret = ""
        if o["client_secret_file"]:
            try:
                with open(o["client_secret_file"], encoding="utf-8") as fh:
                    secret = fh.read().strip()
            except OSError:
                raise CommandError(f'{o["client_secret_file"]}: cannot be read.')
        mapping_from_id = None
        if o["mapping_from"]:
            job = district.import_jobs.filter(number=o["mapping_from"]).first()
            if job is None:
                raise CommandError(f"No import {o['mapping_from']} in {district.slug}.")
            mapping_from_id = job.id
        elif cfg is not None:
            mapping_from_id = cfg.mapping_from_id

        def pick(name, current, default):
            return o[name] if o[name] is not None else (current if cfg is not None else default)

        try:
            return services.sync_settings_update(
                district=district,
                source=pick("source", cfg and cfg.source, SyncSource.FOLDER),
                schedule_time=_time(o["schedule"]) if o["schedule"] is not None else (cfg.schedule_time if cfg else None),
                import_types=[t.strip() for t in o["types"].split(",") if t.strip()] if o["types"] else (cfg.import_types if cfg else ["user_data"]),
                full_roster=pick("full_roster", cfg and cfg.full_roster, False),
                full_roster_manual_users=pick("include_manual_users", cfg and cfg.full_roster_manual_users, False),
                mapping_from_id=mapping_from_id,
                hold_changed_percent=pick("hold_changed", cfg and cfg.hold_changed_percent, 20),
                hold_disabled_percent=pick("hold_disabled", cfg and cfg.hold_disabled_percent, 10),
                hold_errors_percent=pick("hold_errors", cfg and cfg.hold_errors_percent, 10),
                daily_summary=(o["daily_summary"] == "on") if o["daily_summary"] else (cfg.daily_summary if cfg else False),
                oneroster_url=pick("url", cfg and cfg.oneroster_url, ""),
                oneroster_version=pick("oneroster_version", cfg and cfg.oneroster_version, "1.1"),
                token_url=pick("token_url", cfg and cfg.token_url, ""),
                client_id=pick("client_id", cfg and cfg.client_id, ""),
                client_secret=secret,
            )
        except services.SyncRefused as exc:
            raise CommandError(str(exc))

    @staticmethod
    def _describe(cfg) -> str:
        schedule = cfg.schedule_time.strftime("%H:%M") if cfg.schedule_time else "off"
        source = cfg.get_source_display()
        if cfg.source == SyncSource.ONEROSTER:
            source += f" {cfg.oneroster_version} at {cfg.oneroster_url}, client ID {cfg.client_id}, secret {'stored' if cfg.has_secret else 'missing'}"
        else:
            source += f" {district_folder(cfg.district.slug) / 'incoming'}"
        return (
            f"{cfg.district.slug}: {source}; schedule {schedule}; types {', '.join(cfg.import_types)}; "
            f"full roster {'on' if cfg.full_roster else 'off'}; hold at {cfg.hold_changed_percent}% changed, "
            f"{cfg.hold_disabled_percent}% disabled, {cfg.hold_errors_percent}% error rows"
        )
