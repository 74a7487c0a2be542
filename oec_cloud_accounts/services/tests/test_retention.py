"""services/retention.py: which backups a policy keeps (a pure function)."""

from datetime import datetime, timedelta

from odoo.addons.oec_cloud_accounts.services.retention import backups_to_keep


def daily(year, hour=2):
    """One backup a day over ``year`` at ``hour`` (local time): [(key "MM-DD", moment)]."""
    day = datetime(year, 1, 1, hour)
    moments = []
    while day.year == year:
        moments.append((day.strftime("%m-%d"), day))
        day += timedelta(days=1)
    return moments


def test_a_year_of_daily_backups():
    """Keep 7 daily, 4 weekly, 12 monthly, 1 yearly over 2025, one backup a day."""
    kept = backups_to_keep(daily(2025), daily=7, weekly=4, monthly=12, yearly=1)
    assert sorted(kept) == [
        "01-31",
        "02-28",
        "03-31",
        "04-30",
        "05-31",
        "06-30",
        "07-31",
        "08-31",
        "09-30",
        "10-31",
        "11-30",
        "12-14",
        "12-21",
        "12-25",
        "12-26",
        "12-27",
        "12-28",
        "12-29",
        "12-30",
        "12-31",
    ]


def test_applied_every_sunday_keeps_the_same():
    """Applying it weekly to what is left ends where applying it once does."""
    left = []
    for key, moment in daily(2025):
        left.append((key, moment))
        if moment.weekday() == 6:
            keep = backups_to_keep(left, daily=7, weekly=4, monthly=12, yearly=1)
            left = [(k, m) for k, m in left if k in keep]
    once = backups_to_keep(daily(2025), daily=7, weekly=4, monthly=12, yearly=1)
    assert backups_to_keep(left, daily=7, weekly=4, monthly=12, yearly=1) == once


def test_keep_counts():
    """The newest is always kept, whatever the counts; counts apply per kind of period."""
    moments = [(i, datetime(2025, 3, 1) + timedelta(hours=6 * i)) for i in range(12)]  # 3 days, 4 a day
    assert backups_to_keep(moments, daily=1) == {11}
    assert backups_to_keep(moments, daily=2) == {11, 7}
    assert backups_to_keep(moments, monthly=5) == {11}
    assert backups_to_keep(moments) == {11}
    assert backups_to_keep([], daily=3) == set()


def test_periods_are_iso_weeks_months_and_years():
    # 2024-12-30 (Monday) to 2025-01-12: ISO weeks 2025-W01 and W02 span the new year
    moments = [(day, datetime(2024, 12, 30) + timedelta(days=day)) for day in range(14)]
    assert backups_to_keep(moments, weekly=2) == {13, 6}
    assert backups_to_keep(moments, monthly=2) == {13, 1}  # 2025-01-12 and 2024-12-31
    assert backups_to_keep(moments, yearly=3) == {13, 1}
    # gaps: periods without a backup do not count
    sparse = [("old", datetime(2020, 6, 1)), ("new", datetime(2025, 6, 1))]
    assert backups_to_keep(sparse, yearly=2) == {"old", "new"}


def test_same_moment_ties_are_stable():
    moment = datetime(2025, 5, 5, 2)
    assert backups_to_keep([("b", moment), ("a", moment)], daily=1) == {"b"}


def test_same_second_the_greater_id_is_the_newer():
    """Ids 9 and 10 started in the same second: 10 is the newer (not "9" > "10" as text)."""
    moment = datetime(2025, 3, 1, 2, 0, 0)
    assert backups_to_keep([(9, moment), (10, moment)], daily=1) == {10}
