"""When an import may run: the district's off-peak window, in its own time zone."""
import datetime
import zoneinfo


def in_offpeak_window(local_time: datetime.time, start: datetime.time, end: datetime.time) -> bool:
    if start == end:  # a window of zero length means "any time"
        return True
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end  # the window wraps past midnight


def next_offpeak_start(*, now: datetime.datetime, timezone: str, start: datetime.time, end: datetime.time) -> datetime.datetime:
    """`now` if the window is open, else the next time it opens (aware, in the district's zone)."""
    tz = zoneinfo.ZoneInfo(timezone)
    local_now = now.astimezone(tz)
    if in_offpeak_window(local_now.timetz().replace(tzinfo=None), start, end):
        return local_now
    candidate = datetime.datetime.combine(local_now.date(), start, tzinfo=tz)
    if candidate <= local_now:
        candidate = datetime.datetime.combine(local_now.date() + datetime.timedelta(days=1), start, tzinfo=tz)
    # Round-trip through UTC so a daylight-saving gap lands on a real instant.
    return candidate.astimezone(datetime.timezone.utc).astimezone(tz)
