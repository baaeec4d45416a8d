#!/usr/bin/env python3
"""Writes the migration fixtures of `almanach import` (fixtures/import/):

- calendar.ics: an Outlook-style export of 500 events (one UID each):
  single events in UTC, in Windows zones ("Romance Standard Time",
  "W. Europe Standard Time"), in IANA zones with and without VTIMEZONE,
  in a custom zone defined only by its VTIMEZONE, floating and all-day;
  weekly and daily series, some with overrides placed far from their
  master in the file; tasks; alarms; long folded French descriptions; and
  meetings organised by alice@ac-lyon.fr with attendees (which an import
  must never send). Two VTIMEZONEs no event uses.
- contacts.vcf: 300 cards: vCard 3.0 (Apple/Google style, property groups
  such as item1.EMAIL + item1.X-ABLabel), vCard 4.0, and groups of both
  kinds (4.0 KIND:group with MEMBER, 3.0 X-ADDRESSBOOKSERVER-KIND:group).
- broken.ics and broken.vcf: small files whose bad items the tests expect
  refused with their line.

Deterministic (seeded): run it again and the files are byte for byte the
same. Usage: python3 scripts/gen_import_fixtures.py [OUTDIR]
"""

import datetime
import os
import random
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "import")
rng = random.Random(15)
ONE_DAY = datetime.timedelta(days=1)
ONE_WEEK = datetime.timedelta(days=7)

FIRST = ["Camille", "Dominique", "Jean", "Marie", "Léa", "Hugo", "Chloé", "Noé", "Zoé", "Théo", "Inès", "Éloïse", "Gaël", "Maëlys", "Anaïs", "Sébastien"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garçon", "Fournier"]
TOPICS = ["Conseil de classe", "Réunion pédagogique", "Formation numérique", "Jury du baccalauréat", "Visite d'inspection",
          "Conseil d'administration", "Sortie scolaire", "Rencontre parents-professeurs", "Groupe de travail", "Point hebdomadaire"]
PLACES = ["Salle B12", "CDI", "Rectorat, salle 3", "Gymnase", "Amphithéâtre", "", ""]


def fold(line):
    """RFC 5545 §3.1: lines of at most 75 octets, never splitting a character."""
    data = line.encode("utf-8")
    out, first = [], True
    while data:
        room = 75 if first else 74
        cut = min(room, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:
            cut -= 1
        out.append((b"" if first else b" ") + data[:cut])
        data = data[cut:]
        first = False
    return b"\r\n".join(out).decode("utf-8")


def text(s):
    return s.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


ROMANCE = """BEGIN:VTIMEZONE
TZID:Romance Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE"""

WEUROPE = ROMANCE.replace("Romance Standard Time", "W. Europe Standard Time")

PARIS = """BEGIN:VTIMEZONE
TZID:Europe/Paris
X-LIC-LOCATION:Europe/Paris
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""

# A zone known only by its definition: no IANA or Windows name.
CUSTOM = """BEGIN:VTIMEZONE
TZID:Fuseau de l'académie de La Réunion (export)
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0400
TZOFFSETTO:+0400
TZNAME:RET
END:STANDARD
END:VTIMEZONE"""

UNUSED = [
    CUSTOM.replace("Fuseau de l'académie de La Réunion (export)", "Fuseau inutilisé"),
    ROMANCE.replace("Romance Standard Time", "Tokyo Standard Time").replace("+0200", "+0900").replace("+0100", "+0900"),
]

ZONES = ["Romance Standard Time", "W. Europe Standard Time", "Europe/Paris", "Fuseau de l'académie de La Réunion (export)",
         "Europe/Brussels", None, "floating", "date"]


def when(zone, day, hour):
    """`;TZID=…:STAMP`, `:STAMPZ` (UTC) or `:STAMP` (floating) for a date and hour."""
    stamp = f"{day:%Y%m%d}T{hour:02d}0000"
    if zone is None:
        return f":{stamp}Z"
    if zone == "floating":
        return f":{stamp}"
    return f";TZID={zone}:{stamp}"


def vevent(uid, zone, day, hour, dur_h, summary, extra=(), recurrence_id=None):
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T080000Z"]
    if recurrence_id:
        lines.append(recurrence_id)
    if zone == "date":
        lines += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + ONE_DAY:%Y%m%d}"]
    else:
        lines += ["DTSTART" + when(zone, day, hour), "DTEND" + when(zone, day, hour + dur_h)]
    lines.append(fold("SUMMARY:" + text(summary)))
    lines += list(extra)
    lines.append("END:VEVENT")
    return lines


def calendar():
    cal = ["BEGIN:VCALENDAR", "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN", "VERSION:2.0", "METHOD:PUBLISH",
           "X-WR-CALNAME:Agenda de Camille (export)", "X-MS-OLK-FORCEINSPECTOROPEN:TRUE"]
    for tz in [ROMANCE, WEUROPE, UNUSED[0], PARIS, CUSTOM, UNUSED[1]]:
        cal += tz.split("\n")
    comps = []
    later = []  # overrides, written further down the file
    for i in range(500):
        uid = f"{rng.getrandbits(64):016x}-{i:03d}@export.ac-lyon.fr"
        if i % 50 == 7:
            uid = f"{{{rng.getrandbits(32):08X}-OUTLOOK/ID {i}}}"  # not a safe file name
        zone = ZONES[i % len(ZONES)]
        day = datetime.date(2025, 1, 6) + datetime.timedelta(days=(i * 5) % 330)
        hour = 8 + (i % 9)
        summary = f"{TOPICS[i % len(TOPICS)]} n°{i}"
        extra = []
        place = PLACES[i % len(PLACES)]
        if place:
            extra.append(fold("LOCATION:" + text(place)))
        if i % 7 == 0:
            desc = ("Ordre du jour : " + ", ".join(rng.sample(TOPICS, 4)) + ". Merci de préparer les documents à l'avance ; "
                    "les élèves concernés seront prévenus par l'ENT.\nÀ bientôt.")
            extra.append(fold("DESCRIPTION:" + text(desc)))
        if i % 11 == 0:
            extra += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Rappel", "TRIGGER:-PT15M", "END:VALARM"]
        if i % 25 == 3 and zone != "date":
            # A meeting alice organises: importing it must send nothing.
            extra += ["ORGANIZER;CN=alice lyon:mailto:alice@ac-lyon.fr",
                      "ATTENDEE;CN=alice lyon;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:alice@ac-lyon.fr",
                      "ATTENDEE;CN=bob lyon;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@ac-lyon.fr",
                      "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:ext@example.com",
                      "SEQUENCE:0"]
        if i % 40 == 13:
            comps.append(["BEGIN:VTODO", f"UID:{uid}", "DTSTAMP:20250101T080000Z", fold("SUMMARY:" + text("À faire : " + summary)),
                          f"DUE;VALUE=DATE:{day:%Y%m%d}", "STATUS:NEEDS-ACTION", "END:VTODO"])
            continue
        if i % 6 == 1 and zone not in ("date", "floating"):
            if i % 12 == 1:
                # Weekly, ten times; the 3rd instance moved by two hours,
                # the 5th cancelled.
                comps.append(vevent(uid, zone, day, hour, 1, summary, extra + ["RRULE:FREQ=WEEKLY;COUNT=10"]))
                third, fifth = day + 2 * ONE_WEEK, day + 4 * ONE_WEEK
                later.append(vevent(uid, zone, third, hour + 2, 1, summary + " (déplacé)",
                                    recurrence_id="RECURRENCE-ID" + when(zone, third, hour)))
                later.append(vevent(uid, zone, fifth, hour, 1, summary + " (annulé)", ["STATUS:CANCELLED"],
                                    recurrence_id="RECURRENCE-ID" + when(zone, fifth, hour)))
            else:
                until = day + 60 * ONE_DAY
                comps.append(vevent(uid, zone, day, hour, 1, summary, extra + [f"RRULE:FREQ=DAILY;UNTIL={until:%Y%m%d}T235959Z;BYDAY=MO,TU,TH,FR"]))
            continue
        comps.append(vevent(uid, zone, day, hour, 1 + (i % 3), summary, extra))
    # Overrides further down, as exports sorted by date place them.
    for k, ov in enumerate(later):
        comps.insert(min(len(comps), 40 + k * 9), ov)
    for c in comps:
        cal += c
    cal.append("END:VCALENDAR")
    return "\r\n".join(cal) + "\r\n"


def card3(i):
    first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
    uid = f"{rng.getrandbits(48):012x}-{i}" if i % 9 else f"urn:uuid:{rng.getrandbits(32):08x}-0000-4000-8000-{i:012d}"
    lines = ["BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//iPhone OS 17.0//EN", f"N:{text(last)};{text(first)};;;",
             f"FN:{text(first)} {text(last)}", f"UID:{uid}", "ORG:Éducation nationale;Lycée Ampère",
             f"EMAIL;TYPE=INTERNET;TYPE=WORK:{first.lower()}.{last.lower()}{i}@ac-lyon.fr".encode("ascii", "ignore").decode(),
             f"TEL;TYPE=CELL:+33 6 {i % 100:02d} {i * 3 % 100:02d} {i * 7 % 100:02d} {i * 11 % 100:02d}"]
    if i % 3 == 0:
        lines += [f"item1.EMAIL;TYPE=INTERNET:perso{i}@example.org", "item1.X-ABLabel:_$!<Other>!$_"]
    if i % 4 == 0:
        lines.append(fold(f"ADR;TYPE=WORK:;;{i} rue de la République;Lyon;;69002;France"))
    if i % 10 == 0:
        lines.append(fold("NOTE:" + text("Professeur principal de seconde ; contact privilégié pour les sorties.")))
    lines.append("END:VCARD")
    return uid, lines


def card4(i):
    first, last = FIRST[(i * 5) % len(FIRST)], LAST[i % len(LAST)]
    uid = f"urn:uuid:{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{i % 1000:03d}-8000-{rng.getrandbits(48):012x}"
    lines = ["BEGIN:VCARD", "VERSION:4.0", "KIND:individual", f"UID:{uid}", f"FN:{text(first)} {text(last)}",
             f"N:{text(last)};{text(first)};;;", f"EMAIL;TYPE=work:{i}.agent@ac-creteil.fr",
             f"TEL;VALUE=uri;TYPE=\"voice,work\":tel:+33-1-{i % 100:02d}-{i * 3 % 100:02d}-{i * 7 % 100:02d}-{i * 11 % 100:02d}",
             "LANG:fr"]
    if i % 5 == 0:
        lines.append(f"BDAY:19{70 + i % 30}{1 + i % 12:02d}{1 + i % 28:02d}")
    lines.append("END:VCARD")
    return uid, lines


def contacts():
    cards, uids3, uids4 = [], [], []
    for i in range(150):
        uid, lines = card3(i)
        uids3.append(uid)
        cards.append(lines)
    for i in range(140):
        uid, lines = card4(i)
        uids4.append(uid)
        cards.append(lines)
    for g in range(5):  # vCard 4.0 groups (RFC 6350 §6.1.4, §6.6.5)
        members = uids4[g * 20:(g + 1) * 20]
        lines = ["BEGIN:VCARD", "VERSION:4.0", "KIND:group", f"UID:urn:uuid:00000000-0000-4000-9000-{g:012d}",
                 f"FN:Équipe pédagogique {g + 1}"]
        lines += [fold(f"MEMBER:{m}") for m in members]
        lines.append("END:VCARD")
        cards.append(lines)
    for g in range(5):  # Apple's vCard 3.0 groups
        members = uids3[g * 20:(g + 1) * 20]
        lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:apple-group-{g}", f"N:Classe {g + 1};;;;", f"FN:Classe {g + 1}",
                 "X-ADDRESSBOOKSERVER-KIND:group"]
        lines += [fold(f"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:{m}") for m in members]
        lines.append("END:VCARD")
        cards.append(lines)
    assert len(cards) == 300
    return "\r\n".join("\r\n".join(c) for c in cards) + "\r\n"


BROKEN_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//broken//EN
BEGIN:VEVENT
UID:good-1
DTSTAMP:20250101T080000Z
DTSTART:20250301T100000Z
DTEND:20250301T110000Z
SUMMARY:Bon
END:VEVENT
BEGIN:VEVENT
DTSTAMP:20250101T080000Z
DTSTART:20250302T100000Z
SUMMARY:Sans UID
END:VEVENT
BEGIN:VEVENT
UID:good-2
DTSTAMP:20250101T080000Z
DTSTART:20250303T100000Z
DURATION:PT1H
SUMMARY:Bon aussi
END:VEVENT
BEGIN:VEVENT
UID:bad-zone
DTSTAMP:20250101T080000Z
DTSTART;TZID=Nowhere/Unknown:20250304T100000
SUMMARY:Fuseau inconnu sans VTIMEZONE
END:VEVENT
BEGIN:VEVENT
UID:no-end
DTSTART:20250305T100000Z
END:VCALENDAR
"""

BROKEN_VCF = """BEGIN:VCARD
VERSION:3.0
UID:card-ok
FN:Bonne carte
N:Carte;Bonne;;;
END:VCARD
BEGIN:VCARD
VERSION:2.1
UID:card-21
FN:Version 2.1
N:Version;;;;
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Sans UID
END:VCARD
BEGIN:VCARD
VERSION:4.0
UID:card-ok
FN:Même UID que la première
END:VCARD
"""


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, body in [("calendar.ics", calendar()), ("contacts.vcf", contacts()),
                       ("broken.ics", BROKEN_ICS.replace("\n", "\r\n")), ("broken.vcf", BROKEN_VCF.replace("\n", "\r\n"))]:
        with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="") as f:
            f.write(body)


if __name__ == "__main__":
    main()
