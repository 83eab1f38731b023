"""When an import may run: the district's off-peak window, in its own time zone."""
import datetime
import zoneinfo

_UTC = datetime.timezone.utc


def in_offpeak_window(local_time: datetime.time, start: datetime.time, end: datetime.time) -> bool:
    if start == end:  # a window of zero length means "any time"
        return True
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end  # the window wraps past midnight


def _instant(day: datetime.date, at: datetime.time, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    # Through UTC, so a wall time skipped by daylight saving becomes a real instant.
    return datetime.datetime.combine(day, at, tzinfo=tz).astimezone(_UTC)


def next_offpeak_start(*, now: datetime.datetime, timezone: str, start: datetime.time, end: datetime.time) -> datetime.datetime:
    """`now` if the window is open, else the next time it opens (aware, in the district's zone).

    Windows are compared as instants, not wall times, so the repeated hour when clocks go back
    never yields a start in the past.
    """
    tz = zoneinfo.ZoneInfo(timezone)
    local_now = now.astimezone(tz)
    if start == end:
        return local_now
    upcoming = []
    for offset in (-1, 0, 1, 2):
        day = local_now.date() + datetime.timedelta(days=offset)
        opens = _instant(day, start, tz)
        closes = _instant(day + datetime.timedelta(days=1) if end <= start else day, end, tz)
        if opens <= now < closes:
            return local_now
        if opens > now:
            upcoming.append(opens)
    return min(upcoming).astimezone(tz)
