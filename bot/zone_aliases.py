"""A typed place or zone name -> IANA zone, for the set-up's "Something else" (pure).

zoneinfo knows a zone's own city ("Chicago", "Denver") but not the names people use:
"central time", "CST", "Milwaukee", "Dallas, TX". This small table covers US zone words
and abbreviations and the common cities of the regions Waypoint serves that have no
zone of their own; everything else goes to `bot.localtime.resolve_timezone` (every
zone's full name and city, with bounded fuzzy matching).
"""

from __future__ import annotations

import re

from bot.localtime import resolve_timezone

_NEW_YORK = "America/New_York"
_CHICAGO = "America/Chicago"
_DENVER = "America/Denver"
_PHOENIX = "America/Phoenix"
_LOS_ANGELES = "America/Los_Angeles"

# Each zone's names, comma-separated: zone words and abbreviations first, then cities.
_ALIASES: dict[str, str] = {
    _NEW_YORK: (
        "eastern, est, edt, et, eastern standard, eastern daylight, east coast, atlanta, "
        "baltimore, boston, buffalo, charlotte, cincinnati, cleveland, columbus, "
        "hartford, jacksonville, miami, newark, orlando, philadelphia, philly, "
        "pittsburgh, providence, raleigh, richmond, tampa, washington dc, dc, nyc, "
        "brooklyn, manhattan"
    ),
    _CHICAGO: (
        "central, cst, cdt, ct, central standard, central daylight, austin, dallas, des "
        "moines, fort worth, houston, kansas city, little rock, madison, memphis, "
        "milwaukee, minneapolis, nashville, new orleans, oklahoma city, omaha, san "
        "antonio, st louis, saint louis, saint paul, st paul, tulsa, wichita"
    ),
    _DENVER: (
        "mountain, mst, mdt, mt, mountain standard, mountain daylight, albuquerque, "
        "colorado springs, el paso, salt lake city, santa fe, cheyenne, billings"
    ),
    _PHOENIX: ("arizona, tucson, mesa, scottsdale, tempe"),
    _LOS_ANGELES: (
        "pacific, pst, pdt, pt, pacific standard, pacific daylight, west coast, las "
        "vegas, oakland, portland, sacramento, san diego, san francisco, san jose, "
        "seattle, spokane, reno, fresno"
    ),
    "America/Anchorage": ("alaska, akst, akdt, fairbanks, juneau"),
    "Pacific/Honolulu": ("hawaii, hst, hawaii aleutian"),
    "Europe/London": (
        "uk, united kingdom, britain, great britain, england, scotland, wales, gmt, bst, "
        "manchester, birmingham uk, glasgow, edinburgh, cardiff, liverpool, leeds, "
        "bristol, belfast"
    ),
    "Europe/Dublin": ("ireland, cork, galway, limerick"),
    "America/Toronto": ("ottawa, montreal, quebec, quebec city"),
    "America/Edmonton": ("calgary, alberta"),
    "America/St_Johns": ("newfoundland, nst"),
    "Australia/Sydney": ("canberra, aest, aedt"),
}
_ALIAS = {name.strip(): zone for zone, names in _ALIASES.items() for name in names.split(",")}
# Words around the name that say nothing about which zone: "Central Time Zone", "USA".
_FILLER = re.compile(r"\b(time|zone|timezone|standard|daylight|usa|us|the)\b")


def _key(text: str) -> str:
    """'Milwaukee, WI' -> 'milwaukee'; 'St. Louis' -> 'st louis' (a state after a comma
    and punctuation say nothing about the zone)."""
    place = text.split(",", 1)[0].lower().replace("-", " ")
    return " ".join(re.sub(r"[^\w/\s]", " ", place).split())


def resolve_place(text: str) -> str | None:
    """A typed place or zone name -> IANA zone, or None when it is not known."""
    key = _key(text)
    if key in _ALIAS:
        return _ALIAS[key]
    bare = " ".join(_FILLER.sub(" ", key).split())
    if bare in _ALIAS:
        return _ALIAS[bare]
    return resolve_timezone(text) or (resolve_timezone(key) if key and key != text else None)
