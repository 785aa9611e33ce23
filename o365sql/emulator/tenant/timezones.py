"""Time zones for dateTimeTimeZone values (emulator support for the Graph calendar stage).

Graph accepts Windows zone names ("Pacific Standard Time") and IANA names in ``timeZone`` and in
``Prefer: outlook.timezone``, and writes ``dateTime`` as a string without offset with seven
fractional digits ("2017-08-30T11:00:00.0000000"), see
https://learn.microsoft.com/graph/api/resources/datetimetimezone . Windows names are mapped to
IANA zones through the CLDR primary-zone table (the common subset below).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WINDOWS_TO_IANA = {
    "UTC": "UTC", "Coordinated Universal Time": "UTC", "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik", "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris", "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw", "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev", "GTB Standard Time": "Europe/Bucharest",
    "Russian Standard Time": "Europe/Moscow", "Pacific Standard Time": "America/Los_Angeles",
    "Mountain Standard Time": "America/Denver", "US Mountain Standard Time": "America/Phoenix",
    "Central Standard Time": "America/Chicago", "Eastern Standard Time": "America/New_York",
    "Atlantic Standard Time": "America/Halifax", "Alaskan Standard Time": "America/Anchorage",
    "Hawaiian Standard Time": "Pacific/Honolulu", "E. South America Standard Time": "America/Sao_Paulo",
    "Tokyo Standard Time": "Asia/Tokyo", "China Standard Time": "Asia/Shanghai",
    "India Standard Time": "Asia/Kolkata", "Singapore Standard Time": "Asia/Singapore",
    "Korea Standard Time": "Asia/Seoul", "AUS Eastern Standard Time": "Australia/Sydney",
    "New Zealand Standard Time": "Pacific/Auckland", "Arabian Standard Time": "Asia/Dubai",
    "Israel Standard Time": "Asia/Jerusalem", "South Africa Standard Time": "Africa/Johannesburg",
}


class UnknownTimeZone(ValueError):
    pass


def zone(name: str | None) -> tzinfo:
    """The tzinfo for a Windows or IANA zone name (None/"" mean UTC)."""
    if not name:
        return UTC
    for windows, iana in WINDOWS_TO_IANA.items():
        if windows.lower() == name.lower():
            name = iana
            break
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(name) from exc


def fmt(dt: datetime) -> str:
    """A naive or aware datetime as Graph's dateTimeTimeZone.dateTime string."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0"


def parse_local(text: str) -> datetime:
    """Parses a dateTimeTimeZone.dateTime (no offset; fractions up to 7 digits) to a naive datetime."""
    text = text.strip()
    text = text.removesuffix("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = head + "." + (frac + "000000")[:6]
    return datetime.fromisoformat(text)


def to_utc(local: datetime, zone_name: str | None) -> datetime:
    """A wall-clock time in a zone to an aware UTC datetime."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=zone(zone_name)).astimezone(UTC)


def dtz(utc: datetime, zone_name: str | None) -> dict[str, str]:
    """A UTC instant rendered as a dateTimeTimeZone in the given zone (default UTC)."""
    local = utc.astimezone(zone(zone_name)).replace(tzinfo=None)
    return {"dateTime": fmt(local), "timeZone": zone_name or "UTC"}
