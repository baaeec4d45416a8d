#!/usr/bin/env python3
"""Prints an .ics of N events (default 100,000) for scripts/bench_import.sh:
one UID each, in three zones with their VTIMEZONEs (two Windows names and
UTC), one in ten a weekly series with a moved instance, as an Outlook
export has them. Deterministic."""

import datetime
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
TZ = """BEGIN:VTIMEZONE\r
TZID:{name}\r
BEGIN:STANDARD\r
DTSTART:16010101T030000\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:16010101T020000\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r
END:DAYLIGHT\r
END:VTIMEZONE\r
"""
ZONES = ["Romance Standard Time", "W. Europe Standard Time", None]
out = sys.stdout
out.write("BEGIN:VCALENDAR\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\n")
for z in ZONES[:2]:
    out.write(TZ.format(name=z))
base = datetime.datetime(2020, 1, 6, 8)
for i in range(N):
    zone = ZONES[i % 3]
    start = base + datetime.timedelta(hours=(i * 7) % (5 * 365 * 24))
    end = start + datetime.timedelta(hours=1)
    fmt = lambda d: d.strftime("%Y%m%dT%H%M%S")
    when = (lambda p, d: f"{p};TZID={zone}:{fmt(d)}") if zone else (lambda p, d: f"{p}:{fmt(d)}Z")
    uid = f"{i:08d}-bench@export.ac-lyon.fr"
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z", when("DTSTART", start), when("DTEND", end),
             f"SUMMARY:Réunion n°{i}", "LOCATION:Salle B12", "DESCRIPTION:Ordre du jour à préciser.", "END:VEVENT"]
    if i % 10 == 0:
        lines.insert(-1, "RRULE:FREQ=WEEKLY;COUNT=20")
        moved = start + datetime.timedelta(days=14)
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z", when("RECURRENCE-ID", moved),
                  when("DTSTART", moved + datetime.timedelta(hours=2)), when("DTEND", moved + datetime.timedelta(hours=3)),
                  f"SUMMARY:Réunion n°{i} (déplacée)", "END:VEVENT"]
    out.write("\r\n".join(lines) + "\r\n")
out.write("END:VCALENDAR\r\n")
