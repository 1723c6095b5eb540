#!/usr/bin/env python3
"""Reference fire times for the differential test (tests/schedule_differential.rs).

Reads a JSON list of cases from stdin: {"id", "expr", "tz", "start" (RFC 3339), "count"}.
Writes a JSON list: {"id", "refs": {name: [RFC 3339, ...] | {"error": message}}}.

Each case is computed by every independent implementation that follows the rules of
docs/schedules.md (= shared/SCHEDULES.md) for that case; a reference that is known to
follow a different rule for a case is left out of it, for the reason written next to the test:

- cronsim follows Debian (Vixie) cron: day-of-month/day-of-week AND when either starts with
  `*`, OR otherwise; `a/n` runs to the field's maximum (day of week `1/2` includes 7 = Sunday);
  for 5-field expressions whose minute and hour do not start with `*`, a time skipped by a
  spring-forward change fires once after the gap and a repeated time fires once. Where the
  documented rule and cronsim's differ, cronsim's matcher is still used, with the documented
  daylight-saving rule applied around it:
    * an hour or minute with a step that does not start with `*` (`1-23/2`) keeps firing in
      real time through a repeated hour (SCHEDULES.md: "the hour field is `*` or a step");
      cronsim, like Debian cron, treats it as a fixed time. These run through cronsim as
      6-field expressions (second 0), which cronsim always evaluates in real time.
    * 6-field expressions with a fixed minute and hour follow the same wall-clock rule as
      5-field ones in webstir; cronsim never applies it to 6 fields. These run through
      cronsim on naive wall-clock times, and this script maps each time to its first
      occurrence, or to the first instant after a spring-forward gap.
- cronsim advances an hour by adding 3600 real seconds, so after Lord Howe's 30-minute change
  it lands on hh:30 instead of hh:00 (`* 6/1 * * 0` gives 06:30 on the day of the change). For
  Australia/Lord_Howe, repeating schedules therefore use cronsim's matcher on naive
  wall-clock times, and this script lists every instant whose local time matches.
- cronsim reads a one-value range with a step (`2-2/2`) as a step from a single start
  (`2/2` = 2,4,6); in cron it is the one value. Such items are given to cronsim as the value.
- croniter is used only for 5-field expressions in zones without daylight saving (UTC,
  Asia/Kolkata), because its DST handling fires a repeated fixed time twice, and only when
  none of these croniter-specific behaviours apply: it ORs the day fields whenever neither is
  exactly `*` (so `*/2` with a weekday differs), it stops a day-of-week step at 6 (`1/2`
  misses Sunday as 7), and it mis-expands ranges whose start equals their end (`5-5`, `SUN-0`).
"""

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

try:
    from cronsim import CronSim
    from croniter import croniter
except ImportError as missing:
    print(
        f"cron_reference.py: {missing}; run scripts/test (it installs croniter and cronsim with pip)",
        file=sys.stderr,
    )
    sys.exit(3)

UTC = timezone.utc
NO_DST_ZONES = {"UTC", "Etc/UTC", "Asia/Kolkata"}
HALF_HOUR_DST_ZONES = {"Australia/Lord_Howe"}
MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
DAYS = "SUN MON TUE WED THU FRI SAT".split()


def numeric(fields):
    """The fields with month and day names replaced by their numbers."""
    out = list(fields)
    names = {len(fields) - 2: (MONTHS, 1), len(fields) - 1: (DAYS, 0)}
    for index, (table, first) in names.items():
        out[index] = re.sub(
            r"[A-Za-z]+",
            lambda m: str(table.index(m.group(0).upper()) + first),
            out[index],
        )
    return out


def has_one_value_range(fields):
    return any(
        int(a) == int(b)
        for field in numeric(fields)
        for a, b in re.findall(r"(\d+)-(\d+)", field)
    )


def for_cronsim(expr):
    """`a-a/n` (also `0-sun/2`) is the single value `a`; see the module docstring."""
    fields = numeric(expr.split())
    return " ".join(re.sub(r"(?<![\d/])(\d+)-0*\1/\d+", r"\1", f) for f in fields)


def starts_with_star(field):
    return field.startswith("*")


def documented_wall_clock(fields):
    """docs/schedules.md: minute and hour fixed (no `*`, no step) -> wall-clock rule."""
    minute, hour = fields[-5], fields[-4]
    return all("*" not in f and "/" not in f for f in (minute, hour))


def cronsim_wall_clock(fields):
    """cronsim (like Debian cron) uses its wall-clock handling for 5-field expressions whose
    minute and hour do not start with `*`."""
    return len(fields) == 5 and not fields[0].startswith("*") and not fields[1].startswith("*")


def iso(at):
    return at.isoformat()


def take(iterator, count, after):
    out = []
    last = after.astimezone(UTC)
    for at in iterator:
        # A wall-clock time inside a gap maps onto the instant after it, as may a second time
        # in the same gap or the time the gap ends at: it fires once. Compare in UTC: Python
        # compares two times of one zone by their wall-clock reading and ignores `fold`.
        if at.astimezone(UTC) <= last:
            continue
        out.append(at)
        last = at.astimezone(UTC)
        if len(out) == count:
            break
    return out


def first_instant_showing(naive, zone):
    """The first instant (whole second) whose wall-clock time in `zone` is at or after `naive`."""
    guess = int(naive.replace(tzinfo=UTC).timestamp())
    lo, hi = guess - 26 * 3600, guess + 26 * 3600
    while lo < hi:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return datetime.fromtimestamp(lo, zone)


def is_real(at):
    return at.astimezone(UTC).astimezone(at.tzinfo).replace(tzinfo=None) == at.replace(tzinfo=None)


def elapsed_times(expr, zone, start, count):
    """Every instant after `start` whose local time matches, in order: both copies of a
    repeated time, none inside a gap."""
    start_utc = start.astimezone(UTC)
    naive_start = start.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3)
    found = set()
    for naive in CronSim(expr, naive_start):
        if len(found) >= count:
            kth = sorted(found)[count - 1]
            if naive - timedelta(hours=3) > kth.astimezone(zone).replace(tzinfo=None):
                break
        for fold in (0, 1):
            at = naive.replace(tzinfo=zone, fold=fold)
            if is_real(at) and at.astimezone(UTC) > start_utc:
                found.add(at.astimezone(UTC))
    return [at.astimezone(zone) for at in sorted(found)]


def wall_clock_times(expr, zone, start):
    naive_start = start.astimezone(zone).replace(tzinfo=None)
    for naive in CronSim(expr, naive_start):
        first = naive.replace(tzinfo=zone, fold=0)
        if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
            yield first
        else:
            yield first_instant_showing(naive, zone)


def run_cronsim(expr, tz, start, count):
    zone = ZoneInfo(tz)
    expr = for_cronsim(expr)
    fields = expr.split()
    if tz in HALF_HOUR_DST_ZONES and not documented_wall_clock(fields):
        times = elapsed_times(expr, zone, start, count)
    elif tz in NO_DST_ZONES or documented_wall_clock(fields) == cronsim_wall_clock(fields):
        times = CronSim(expr, start.astimezone(zone))
    elif documented_wall_clock(fields):
        times = wall_clock_times(expr, zone, start)
    else:
        six = expr if len(fields) == 6 else "0 " + expr
        times = CronSim(six, start.astimezone(zone))
    return [iso(t) for t in take(times, count, start)]


def croniter_applies(expr, tz):
    fields = expr.split()
    if tz not in NO_DST_ZONES or len(fields) != 5:
        return False
    dom, dow = fields[2], fields[4]
    star_and = (starts_with_star(dom) and dom != "*" and dow != "*") or (
        starts_with_star(dow) and dow != "*" and dom != "*"
    )
    return not star_and and "/" not in dow and not has_one_value_range(fields)


def run_croniter(expr, tz, start, count):
    zone = ZoneInfo(tz)
    it = croniter(expr, start.astimezone(zone))
    return [iso(it.get_next(datetime)) for _ in range(count)]


def main():
    cases = json.load(sys.stdin)
    answers = []
    for case in cases:
        start = datetime.fromisoformat(case["start"].replace("Z", "+00:00"))
        refs = {}
        runners = [("cronsim", run_cronsim)]
        if croniter_applies(case["expr"], case["tz"]):
            runners.append(("croniter", run_croniter))
        for name, run in runners:
            try:
                refs[name] = run(case["expr"], case["tz"], start, case["count"])
            except Exception as error:  # any rejection is an answer to compare
                refs[name] = {"error": f"{type(error).__name__}: {error}"}
        answers.append({"id": case["id"], "refs": refs})
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
