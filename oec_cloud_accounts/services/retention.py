"""Which backups a retention policy keeps (grandfather-father-son).

For each kind of period (day, ISO week, month, year) the newest backup of each
of the N most recent periods that have a backup is kept, as borg and restic
prune do; the newest backup of all is always kept. Times are local to the
policy's time zone, so "the backup of Monday" is the one an administrator
means.
"""

PERIODS = (
    ("daily", lambda moment: moment.date()),
    ("weekly", lambda moment: tuple(moment.isocalendar())[:2]),
    ("monthly", lambda moment: (moment.year, moment.month)),
    ("yearly", lambda moment: moment.year),
)


def backups_to_keep(backups, daily=0, weekly=0, monthly=0, yearly=0):
    """``backups``: [(key, local datetime)] of successful backups, keys of one
    type that orders them as made (record ids); returns the set of keys to keep
    (every other one may be deleted). Of two backups of the same second, the
    greater key is the newer."""
    counts = {"daily": daily, "weekly": weekly, "monthly": monthly, "yearly": yearly}
    ordered = sorted(backups, key=lambda item: (item[1], item[0]), reverse=True)
    keep = {ordered[0][0]} if ordered else set()
    for kind, period_of in PERIODS:
        seen = set()
        for key, moment in ordered:
            if len(seen) >= counts[kind]:
                break
            period = period_of(moment)
            if period not in seen:
                seen.add(period)
                keep.add(key)
    return keep
