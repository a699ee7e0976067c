"""Daily uptime of components: the page's bars, and the percentages badges and feeds show.

The source of truth is the status log (models.components.StatusLogEntry): every change of a
component's effective status, which already reflects its monitor, its incidents, operator
overrides and maintenance, with their precedence. Two more sources complete it:

- public incidents, over their whole life (``created_at`` to ``resolved_at``): an incident
  entered after the fact (backfilled) never moved the log, so its impact (minor -> degraded,
  major -> partial outage, critical -> major outage) is laid over the log, taking the worst
  of both, except while the log says maintenance or an operator override set the status
  (both win over incidents, as in the live rules);
- the monitor's hourly aggregates (models.monitors.MonitorHour): for a component with a
  monitor, a day on which the monitor recorded no time (no result: a paused monitor, a worker
  down) and the log shows nothing but "operational" is a day with no data, not a good day.

The formula, per day of the page's time zone (a day may last 23 or 25 hours):

    uptime = 100 * (1 - (major_outage_seconds + PARTIAL_WEIGHT * partial_outage_seconds)
                        / observed_seconds)

``observed_seconds`` is the part of the day after the component's history begins (its
creation) and before now (the end of the current minute); degraded and maintenance count as up. A day with no observed time
is "no data" (None: grey on the page, never green). A window's uptime weighs each day by its
observed time (the same formula over the whole window).

Queries: four, whatever the number of components, days and incidents.
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from .. import status as rules
from ..extensions import db
from ..models import Component, Incident, MonitorHour, StatusLogEntry, incident_components, utcnow
from .statuses import PUBLIC

# A partial outage costs this fraction of its time (Statuspage counts it at 30 %).
PARTIAL_WEIGHT = 0.3
MAX_DAYS = 366

# Colour levels of a bar, best first: (lowest percent, CSS class suffix).
LEVELS = ((100.0, "100"), (99.5, "995"), (99.0, "99"), (95.0, "95"), (0.0, "low"))


@dataclass(frozen=True)
class DayBar:
    """One day of one component (or the average of a group's components)."""

    date: date
    uptime_percent: float | None
    down_seconds: float = 0.0
    partial_seconds: float = 0.0
    observed_seconds: float = 0.0
    incidents: tuple = field(default=())  # ((id, title), ...), oldest first

    @property
    def level(self):
        return uptime_level(self.uptime_percent)


def uptime_level(percent):
    """The colour level of a percentage: "100", "995", "99", "95", "low", or "none"."""
    if percent is None:
        return "none"
    for floor, name in LEVELS:
        if percent >= floor:
            return name
    return "low"


def format_percent(percent):
    """A percentage as the page writes it: "99.95%"; "100%" only for a perfect record."""
    if percent is None:
        return None
    if percent >= 100.0:
        return "100%"
    # Never round a loss up to a perfect record: 99.999 reads 99.99.
    return f"{min(percent, 99.99):.2f}%"


def day_percent(observed, down, partial):
    """The formula above, for one day or a whole window; None with nothing observed."""
    if observed <= 0:
        return None
    lost = down + PARTIAL_WEIGHT * partial
    return max(0.0, min(100.0, 100.0 * (1.0 - lost / observed)))


def window_percent(bars):
    """The uptime over several days, each weighed by its observed time (None: no data)."""
    bars = [bar for bar in bars if bar.uptime_percent is not None]
    return day_percent(sum(b.observed_seconds for b in bars), sum(b.down_seconds for b in bars),
                       sum(b.partial_seconds for b in bars))


def average_bars(rows):
    """A group's bars: per day, the average of its components' percentages that have data."""
    if not rows:
        return []
    bars = []
    for day_bars in zip(*rows):
        known = [bar.uptime_percent for bar in day_bars if bar.uptime_percent is not None]
        incidents = {}
        for bar in day_bars:
            incidents.update(dict(bar.incidents))
        bars.append(DayBar(day_bars[0].date, sum(known) / len(known) if known else None,
                           incidents=tuple(sorted(incidents.items()))))
    return bars


def average_percent(percents):
    """The average of the percentages that are known (None when none is)."""
    known = [percent for percent in percents if percent is not None]
    return sum(known) / len(known) if known else None


def to_zone(zone):
    if isinstance(zone, zoneinfo.ZoneInfo):
        return zone
    try:
        return zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return timezone.utc


def local_midnight(day, zone):
    """The instant (UTC) a local day starts."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(timezone.utc)


def next_local_midnight(now, zone):
    """When the next day of ``zone`` begins after ``now``: the bars move on then."""
    zone = to_zone(zone)
    return local_midnight(now.astimezone(zone).date() + timedelta(days=1), zone)


def end_of_minute(now):
    """Today counts up to the end of the current minute: two renders in the same minute give
    the same page (and ETag) even while an outage goes on, and a component created a moment
    ago already has some observed time."""
    floor = now.replace(second=0, microsecond=0)
    return floor if floor == now else floor + timedelta(minutes=1)


def page_days(days, zone, now):
    """[(date, start, end)] of the last ``days`` local days, oldest first, today last."""
    today = now.astimezone(zone).date()
    dates = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    return [(day, local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone))
            for day in dates]


def daily_uptime(components, days, zone, now=None):
    """{component_id: [DayBar, ...]} for ``days`` days of ``zone``, oldest first, today last.

    Args:
        components: Component rows (their id, created_at, monitor_type and monitor_id).
        zone: an IANA name or a ZoneInfo: the page's days.
    """
    now = now or utcnow()
    zone = to_zone(zone)
    days = max(1, min(int(days), MAX_DAYS))
    spans = page_days(days, zone, now)
    start, end = spans[0][1], min(spans[-1][2], end_of_minute(now))
    ids = [component.id for component in components]
    logs = load_status_log(ids, start, end)
    incidents = load_incidents(ids, start, end)
    monitored = load_monitor_days(components, spans)
    result = {}
    for component in components:
        segments = overlay_incidents(
            log_segments(logs.get(component.id, ()), component.created_at, start, end),
            incidents.get(component.id, ()), end)
        key = (component.monitor_type, component.monitor_id)
        watched = monitored.get(key, set()) if component.monitor_type else None
        result[component.id] = day_bars(segments, spans, incidents.get(component.id, ()),
                                        watched, end)
    return result


def component_uptime(component_ids, days, now=None):
    """{id: uptime percent over the last ``days`` days of the page's zone, or None: no data}."""
    from .settings import get_settings

    now = now or utcnow()
    components = db.session.scalars(db.select(Component).where(
        Component.id.in_(list(component_ids)))).all()
    bars = daily_uptime(components, days, get_settings().timezone, now)
    return {component_id: window_percent(bars[component_id]) if component_id in bars else None
            for component_id in component_ids}


# Loading: one query each


def load_status_log(ids, start, end):
    """{component_id: [(at, status, cause)]}: the window's entries, and the one before it."""
    log = StatusLogEntry
    before = (db.select(sa.func.max(log.id)).where(log.component_id.in_(ids), log.at < start)
              .group_by(log.component_id))
    rows = db.session.execute(
        db.select(log.component_id, log.at, log.to_status, log.cause)
        .where(log.component_id.in_(ids),
               sa.or_(sa.and_(log.at >= start, log.at < end), log.id.in_(before)))
        .order_by(log.component_id, log.at, log.id))
    entries = {}
    for component_id, at, status, cause in rows:
        entries.setdefault(component_id, []).append((at, status, cause))
    return entries


def load_incidents(ids, start, end):
    """{component_id: [(created_at, resolved_at, severity, id, title)]} of public incidents
    that were open at some time in the window."""
    rows = db.session.execute(
        db.select(incident_components.c.component_id, Incident.created_at, Incident.resolved_at,
                  Incident.status, Incident.severity, Incident.id, Incident.title)
        .join(Incident, Incident.id == incident_components.c.incident_id)
        .where(incident_components.c.component_id.in_(ids), PUBLIC, Incident.created_at < end,
               sa.or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start))
        .order_by(Incident.created_at, Incident.id))
    incidents = {}
    for component_id, created, resolved, status, severity, incident_id, title in rows:
        if status != rules.RESOLVED:
            resolved = None
        incidents.setdefault(component_id, []).append(
            (created, resolved, severity, incident_id, title))
    return incidents


def _utc_date(column):
    """The UTC calendar date of a timestamp column, in SQL (SQLite keeps naive UTC text)."""
    if db.engine.dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone("UTC", column))
    return sa.func.date(column)


def load_monitor_days(components, spans):
    """{(monitor_type, monitor_id): {local dates on which the monitor recorded time}}.

    Grouped per UTC date in SQL (one row per monitor and day, not per hour); each hour counts
    in the local day it starts in, as in the monitor's own daily history. From each UTC date's
    first and last hour with time, which local days it touches is exact, except for a local
    day lying strictly inside one UTC date (23-hour days in some zones), counted as observed.
    """
    ids = sorted({c.monitor_id for c in components if c.monitor_type and c.monitor_id})
    start, end = spans[0][1], spans[-1][2]
    hour = MonitorHour.hour
    day = _utc_date(hour).label("day")
    rows = db.session.execute(
        db.select(MonitorHour.monitor_type, MonitorHour.monitor_id, day,
                  sa.func.min(hour), sa.func.max(hour))
        .where(MonitorHour.monitor_id.in_(ids), hour >= start, hour < end,
               MonitorHour.up_seconds + MonitorHour.degraded_seconds
               + MonitorHour.down_seconds > 0)
        .group_by(MonitorHour.monitor_type, MonitorHour.monitor_id, day)).all()
    wanted = {(c.monitor_type, c.monitor_id) for c in components if c.monitor_type}
    seen = {}
    for monitor_type, monitor_id, utc_day, first, last in rows:
        if (monitor_type, monitor_id) not in wanted:
            continue
        utc_day = date.fromisoformat(str(utc_day)[:10])
        day_start = datetime.combine(utc_day, time(), tzinfo=timezone.utc)
        day_end = day_start + timedelta(days=1)
        dates = seen.setdefault((monitor_type, monitor_id), set())
        for local_day, local_start, local_end in spans:
            low, high = max(local_start, day_start), min(local_end, day_end)
            if low >= high:
                continue
            if low <= first < high or low <= last < high or (first < low and last >= high):
                dates.add(local_day)
    return seen


# Computing: in Python, per component


def log_segments(entries, created_at, start, end):
    """[(from, to, status, overridden)] covering what the log knows of [start, end).

    ``overridden``: the status came from an operator override (incidents do not change it).
    Before the first entry, and before the component was created, nothing is known.
    """
    segments = []
    for index, (at, status, cause) in enumerate(entries):
        begin = max(at, start, created_at or at)
        stop = entries[index + 1][0] if index + 1 < len(entries) else end
        stop = min(stop, end)
        if begin < stop:
            segments.append((begin, stop, status, cause == rules.CAUSE_OVERRIDE))
    return segments


def overlay_incidents(segments, incidents, end):
    """The log's segments with public incidents' impact laid over them (see the module)."""
    if not incidents or not segments:
        return [(begin, stop, status) for begin, stop, status, _ in segments]
    spans = [(created, min(resolved or end, end), rules.INCIDENT_IMPACT[severity])
             for created, resolved, severity, _, _ in incidents]
    result = []
    for begin, stop, status, overridden in segments:
        if overridden or status == rules.MAINTENANCE:
            result.append((begin, stop, status))
            continue
        cuts = {begin, stop}
        for created, resolved, _ in spans:
            if begin < created < stop:
                cuts.add(created)
            if begin < resolved < stop:
                cuts.add(resolved)
        cuts = sorted(cuts)
        for piece_start, piece_stop in zip(cuts, cuts[1:]):
            impacts = [impact for created, resolved, impact in spans
                       if created <= piece_start and resolved > piece_start]
            result.append((piece_start, piece_stop, rules.worst([status, *impacts])))
    return result


def day_bars(segments, spans, incidents, watched, end):
    """One DayBar per span from the component's segments.

    Args:
        watched: for a component with a monitor, the local dates its monitor recorded time
            on; None for a component without one.
    """
    bars = []
    index = 0
    for day, day_start, day_end in spans:
        observed = down = partial = flagged = 0.0
        # Segments are in order and do not overlap: resume where the previous day stopped.
        while index < len(segments) and segments[index][1] <= day_start:
            index += 1
        position = index
        while position < len(segments) and segments[position][0] < day_end:
            begin, stop, status = segments[position]
            seconds = (min(stop, day_end) - max(begin, day_start)).total_seconds()
            if seconds > 0:
                observed += seconds
                if status == rules.MAJOR_OUTAGE:
                    down += seconds
                elif status == rules.PARTIAL_OUTAGE:
                    partial += seconds
                if status != rules.OPERATIONAL:
                    flagged += seconds
            position += 1
        if watched is not None and day not in watched and not flagged:
            observed = down = partial = 0.0  # the monitor said nothing that day: no data
        day_end_seen = min(day_end, end)
        that_day = tuple((incident_id, title)
                         for created, resolved, _, incident_id, title in incidents
                         if created < day_end_seen and (resolved or end) >= day_start)
        bars.append(DayBar(day, day_percent(observed, down, partial), down, partial, observed,
                           that_day))
    return bars
