//! One exported iCalendar file (RFC 5545 §3.4: one or more VCALENDARs with
//! many components) cut into calendar object resources (RFC 4791 §4.1):
//! one per UID, holding every component with that UID — a recurring
//! series' master and its overrides (RECURRENCE-ID) stay together — and
//! only the VTIMEZONEs its components name (§4.1: "the VTIMEZONE
//! components for all the time zones referenced").
//!
//! Each component's lines are copied as the file has them (CRLF line
//! endings); the export's METHOD and calendar-wide `X-WR-*` properties
//! are not copied, being properties of the export, not of an event (a
//! calendar object resource carries no METHOD, §4.1).

use std::collections::HashMap;

use super::lines::{content_lines, name_is, parts, Line};
use super::{Problem, SplitItem};

/// A top-level component of a VCALENDAR.
struct Block<'a> {
    /// Its BEGIN line.
    line: usize,
    lines: Vec<Line<'a>>,
    is_timezone: bool,
    /// UID (components) or TZID (VTIMEZONE), trimmed.
    key: Option<String>,
    /// TZID parameters of its lines, first use first.
    zones: Vec<String>,
}

/// The PRODID, VERSION and CALSCALE lines of the first VCALENDAR.
#[derive(Default)]
struct Head<'a> {
    version: Option<Line<'a>>,
    prodid: Option<Line<'a>>,
    calscale: Option<Line<'a>>,
}

/// Cut `text` into one resource per UID. What cannot belong to any
/// resource (lines outside a VCALENDAR, a component without END) is
/// reported as a problem at its line; a component without UID becomes a
/// resource of its own (which validation refuses, naming the rule).
pub fn split(text: &[u8]) -> (Vec<SplitItem>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut head = Head::default();
    let mut blocks: Vec<Block<'_>> = Vec::new();
    let mut in_calendar = false;
    let mut calendars = 0usize;
    let mut open: Option<(Block<'_>, usize)> = None;
    let mut stray: Option<usize> = None;
    for line in content_lines(text) {
        let unfolded = line.unfolded();
        if let Some((block, depth)) = open.as_mut() {
            if name_is(&unfolded, "END")
                && parts(&unfolded)
                    .value
                    .trim()
                    .eq_ignore_ascii_case("VCALENDAR")
            {
                // The calendar ends inside the component.
                problems.push(Problem {
                    line: block.line,
                    uid: block.key.clone(),
                    reason: "the component has no END line".into(),
                });
                open = None;
                in_calendar = false;
                continue;
            }
            block.lines.push(line);
            if name_is(&unfolded, "BEGIN") {
                *depth += 1;
            } else if name_is(&unfolded, "END") {
                *depth -= 1;
                if *depth == 0 {
                    blocks.push(open.take().map(|(b, _)| b).expect("open block"));
                }
                continue;
            }
            note_line(block, *depth, &unfolded);
            continue;
        }
        if !in_calendar {
            if name_is(&unfolded, "BEGIN")
                && parts(&unfolded)
                    .value
                    .trim()
                    .eq_ignore_ascii_case("VCALENDAR")
            {
                in_calendar = true;
                calendars += 1;
            } else if stray.is_none() {
                stray = Some(line.number);
            }
            continue;
        }
        if name_is(&unfolded, "BEGIN") {
            let kind = parts(&unfolded).value.trim().to_ascii_uppercase();
            let block = Block {
                line: line.number,
                lines: vec![line],
                is_timezone: kind == "VTIMEZONE",
                key: None,
                zones: Vec::new(),
            };
            open = Some((block, 1));
        } else if name_is(&unfolded, "END") {
            in_calendar = false;
        } else if calendars == 1 {
            // The calendar's own properties, from the first VCALENDAR.
            let slot = if name_is(&unfolded, "VERSION") {
                &mut head.version
            } else if name_is(&unfolded, "PRODID") {
                &mut head.prodid
            } else if name_is(&unfolded, "CALSCALE") {
                &mut head.calscale
            } else {
                continue;
            };
            slot.get_or_insert(line);
        }
    }
    if let Some((block, _)) = open {
        problems.push(Problem {
            line: block.line,
            uid: block.key,
            reason: "the component has no END line".into(),
        });
    }
    if let Some(line) = stray {
        let reason = if calendars > 0 {
            "content outside BEGIN:VCALENDAR … END:VCALENDAR (ignored)"
        } else {
            "no BEGIN:VCALENDAR: not an iCalendar file"
        };
        problems.push(Problem {
            line,
            uid: None,
            reason: reason.into(),
        });
    }
    (assemble(&head, blocks), problems)
}

/// Record what a line of a block tells: its UID or TZID (at the
/// component's own level, `depth` 1) and the zones its parameters name.
fn note_line(block: &mut Block<'_>, depth: usize, unfolded: &[u8]) {
    let key = if block.is_timezone { "TZID" } else { "UID" };
    if depth == 1 && block.key.is_none() && name_is(unfolded, key) {
        block.key = Some(parts(unfolded).value.trim().to_string());
        return;
    }
    if !block.is_timezone && contains_ignore_case(unfolded, b";TZID=") {
        for (name, value) in parts(unfolded).params {
            if name == "TZID" && !block.zones.contains(&value) {
                block.zones.push(value);
            }
        }
    }
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Group the components by UID (in the order each UID first appears) and
/// write each group as one VCALENDAR with the VTIMEZONEs it uses.
fn assemble(head: &Head<'_>, blocks: Vec<Block<'_>>) -> Vec<SplitItem> {
    let mut zones: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_uid: HashMap<String, usize> = HashMap::new();
    for (i, b) in blocks.iter().enumerate() {
        match (&b.key, b.is_timezone) {
            // RFC 5545 §3.6.5: one definition per TZID; the first is kept.
            (Some(tzid), true) => {
                zones.entry(tzid.clone()).or_insert(i);
            }
            (None, true) => {}
            (Some(uid), false) => match by_uid.get(uid) {
                Some(g) => groups[*g].push(i),
                None => {
                    by_uid.insert(uid.clone(), groups.len());
                    groups.push(vec![i]);
                }
            },
            (None, false) => groups.push(vec![i]),
        }
    }
    groups
        .into_iter()
        .map(|members| {
            let mut content = Vec::with_capacity(
                members
                    .iter()
                    .map(|m| {
                        blocks[*m]
                            .lines
                            .iter()
                            .map(|l| l.bytes.len() + 2)
                            .sum::<usize>()
                    })
                    .sum::<usize>()
                    + 256,
            );
            content.extend_from_slice(b"BEGIN:VCALENDAR\r\n");
            match &head.version {
                Some(l) => l.write_to(&mut content),
                None => content.extend_from_slice(b"VERSION:2.0\r\n"),
            }
            match &head.prodid {
                Some(l) => l.write_to(&mut content),
                None => content.extend_from_slice(b"PRODID:-//Almanach//import//FR\r\n"),
            }
            if let Some(l) = &head.calscale {
                l.write_to(&mut content);
            }
            let mut used: Vec<&str> = Vec::new();
            for m in &members {
                for z in &blocks[*m].zones {
                    if !used.contains(&z.as_str()) {
                        used.push(z);
                    }
                }
            }
            for z in used {
                if let Some(&tz) = zones.get(z) {
                    blocks[tz]
                        .lines
                        .iter()
                        .for_each(|l| l.write_to(&mut content));
                }
            }
            for m in &members {
                blocks[*m]
                    .lines
                    .iter()
                    .for_each(|l| l.write_to(&mut content));
            }
            content.extend_from_slice(b"END:VCALENDAR\r\n");
            let first = &blocks[members[0]];
            SplitItem {
                line: first.line,
                uid: first.key.clone(),
                content,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Travail\r\n\
BEGIN:VTIMEZONE\r\nTZID:Romance Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
BEGIN:VTIMEZONE\r\nTZID:Unused\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Romance Standard Time:20240101T100000\r\nRRULE:FREQ=DAILY;COUNT=3\r\nBEGIN:VALARM\r\nUID:not-this\r\nEND:VALARM\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID;TZID=Romance Standard Time:20240102T100000\r\nDTSTART;TZID=Romance Standard Time:20240102T110000\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn one_resource_per_uid_with_its_zones() {
        let (items, problems) = split(EXPORT.as_bytes());
        assert!(problems.is_empty());
        assert_eq!(items.len(), 2);
        let a = String::from_utf8(items[0].content.clone()).unwrap();
        assert_eq!((items[0].uid.as_deref(), items[0].line), (Some("a"), 22));
        assert_eq!(a.matches("BEGIN:VEVENT").count(), 2, "{a}");
        assert_eq!(a.matches("BEGIN:VTIMEZONE").count(), 1, "{a}");
        assert!(
            a.contains("TZID:Romance Standard Time")
                && !a.contains("Unused")
                && !a.contains("METHOD")
                && !a.contains("X-WR")
        );
        assert!(a.starts_with(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VTIMEZONE"
        ));
        let b = String::from_utf8(items[1].content.clone()).unwrap();
        assert!(!b.contains("VTIMEZONE"), "{b}");
    }

    #[test]
    fn problems_have_lines() {
        let (items, problems) = split(b"garbage\nBEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\n");
        assert!(items.is_empty());
        assert_eq!(problems.len(), 2);
        assert_eq!(
            (problems[0].line, problems[0].uid.as_deref()),
            (3, Some("x"))
        );
        assert_eq!(problems[1].line, 1);
        let (items, problems) = split(b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VCALENDAR\n");
        assert!(items.is_empty());
        assert_eq!(
            problems
                .iter()
                .map(|p| (p.line, p.uid.as_deref()))
                .collect::<Vec<_>>(),
            vec![(2, Some("x"))]
        );
    }
}
