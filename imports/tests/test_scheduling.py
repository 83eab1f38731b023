"""The off-peak window, as pure functions: wrapping past midnight, time zones and daylight saving."""
import datetime
import zoneinfo

import pytest

from imports.scheduling import in_offpeak_window, next_offpeak_start

T = datetime.time
UTC = datetime.timezone.utc
NEW_YORK = "America/New_York"
NY = zoneinfo.ZoneInfo(NEW_YORK)
EVENING, MORNING = T(20, 0), T(6, 0)


@pytest.mark.parametrize(
    ("local", "inside"),
    [(T(20, 0), True), (T(23, 59), True), (T(0, 0), True), (T(5, 59), True),
     (T(6, 0), False), (T(12, 0), False), (T(19, 59), False)],
)
def test_a_window_that_wraps_midnight(local, inside):
    assert in_offpeak_window(local, EVENING, MORNING) is inside


@pytest.mark.parametrize(
    ("local", "inside"), [(T(0, 59), False), (T(1, 0), True), (T(4, 59), True), (T(5, 0), False), (T(22, 0), False)]
)
def test_a_window_inside_one_day(local, inside):
    assert in_offpeak_window(local, T(1, 0), T(5, 0)) is inside


def test_a_window_of_zero_length_is_always_open():
    assert in_offpeak_window(T(12, 0), T(0, 0), T(0, 0))


def _next(now, *, tz=NEW_YORK, start=EVENING, end=MORNING):
    return next_offpeak_start(now=now, timezone=tz, start=start, end=end)


def test_inside_the_window_it_runs_now():
    now = datetime.datetime(2024, 1, 10, 3, 0, tzinfo=UTC)  # 22:00 in New York

    assert _next(now) == now


def test_after_midnight_inside_the_window_it_runs_now():
    now = datetime.datetime(2024, 1, 10, 10, 59, tzinfo=UTC)  # 05:59 in New York

    assert _next(now) == now


def test_during_the_school_day_it_waits_for_this_evening():
    now = datetime.datetime(2024, 1, 10, 15, 0, tzinfo=UTC)  # 10:00 in New York

    run_after = _next(now)

    assert run_after == datetime.datetime(2024, 1, 10, 20, 0, tzinfo=NY)
    assert run_after == datetime.datetime(2024, 1, 11, 1, 0, tzinfo=UTC)


def test_at_the_end_of_the_window_it_waits_for_the_same_evening():
    now = datetime.datetime(2024, 1, 10, 6, 0, tzinfo=NY)

    assert _next(now) == datetime.datetime(2024, 1, 10, 20, 0, tzinfo=NY)


def test_the_window_is_read_in_the_districts_zone_not_utc():
    now = datetime.datetime(2024, 1, 10, 21, 0, tzinfo=UTC)  # 21:00 UTC, but 15:00 in Chicago, 13:00 in Los Angeles

    assert _next(now, tz="America/Chicago") == datetime.datetime(2024, 1, 11, 2, 0, tzinfo=UTC)
    assert _next(now, tz="America/Los_Angeles") == datetime.datetime(2024, 1, 11, 4, 0, tzinfo=UTC)
    assert _next(now, tz="UTC") == now


def test_a_window_inside_one_day_waits_for_tomorrow_once_it_has_passed():
    now = datetime.datetime(2024, 1, 10, 23, 0, tzinfo=NY)

    assert _next(now, start=T(1, 0), end=T(5, 0)) == datetime.datetime(2024, 1, 11, 1, 0, tzinfo=NY)


def test_on_the_day_clocks_go_forward_the_window_opens_at_local_20_00():
    # 2024-03-10: New York moves from EST (UTC-5) to EDT (UTC-4) at 02:00.
    now = datetime.datetime(2024, 3, 10, 12, 0, tzinfo=NY)

    assert _next(now) == datetime.datetime(2024, 3, 11, 0, 0, tzinfo=UTC)  # 20:00 EDT


def test_on_the_day_clocks_go_back_the_window_opens_at_local_20_00():
    # 2024-11-03: New York moves from EDT back to EST at 02:00.
    now = datetime.datetime(2024, 11, 3, 12, 0, tzinfo=NY)

    assert _next(now) == datetime.datetime(2024, 11, 4, 1, 0, tzinfo=UTC)  # 20:00 EST


def test_the_day_before_clocks_go_forward_uses_that_days_offset():
    now = datetime.datetime(2024, 3, 9, 12, 0, tzinfo=NY)

    assert _next(now) == datetime.datetime(2024, 3, 10, 1, 0, tzinfo=UTC)  # 20:00 EST


def test_a_window_start_that_does_not_exist_that_night_lands_on_a_real_instant():
    # 02:30 never happens on 2024-03-10 in New York; the job must still get a real time, within the window.
    now = datetime.datetime(2024, 3, 10, 1, 0, tzinfo=NY)  # 01:00 EST, before the window

    run_after = _next(now, start=T(2, 30), end=T(6, 0))

    as_utc = run_after.astimezone(UTC)
    assert as_utc.astimezone(NY) == run_after  # survives a round trip: a real instant
    assert as_utc == datetime.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert in_offpeak_window(run_after.astimezone(NY).time(), T(2, 30), T(6, 0))


def test_the_result_is_aware_and_in_the_districts_zone():
    run_after = _next(datetime.datetime(2024, 1, 10, 15, 0, tzinfo=UTC), tz="America/Chicago")

    assert run_after.utcoffset() == datetime.timedelta(hours=-6)
    assert (run_after.hour, run_after.minute) == (20, 0)


def test_in_the_repeated_hour_the_next_start_is_never_in_the_past():
    now = datetime.datetime(2024, 11, 3, 6, 15, tzinfo=UTC)  # 01:15 EST: the second 01:15 of that night

    run_after = _next(now, start=T(1, 30), end=T(5, 0))

    assert run_after >= now
