//! GET on a calendar collection: the whole calendar as one iCalendar
//! object, for clients that subscribe to a calendar instead of syncing it.
//! Each member's components are copied line for line; VTIMEZONEs are
//! deduplicated by TZID (RFC 5545 §3.6.5: one definition per TZID).

use std::collections::HashSet;

use http::StatusCode;

use crate::dav::error::{conditions, DavError, DavResult};
use crate::dav::DavRequest;
use crate::ical::push_folded;
use crate::store::{Collection, ObjectQuery};

/// The iCalendar text of every object in `calendar`, in one VCALENDAR. A
/// calendar larger than `max_report_bytes` is refused (507 with
/// `DAV:number-of-matches-within-limits`) rather than built in memory; a
/// large one is assembled on the compute pool.
pub async fn export_calendar(req: &DavRequest<'_>, calendar: &Collection, name: &str) -> DavResult<String> {
    let query = ObjectQuery { with_content: true, ..Default::default() };
    let objects = req.state.store.query_objects(calendar.id, &query).await?;
    let total: usize = objects.iter().map(|o| o.meta.size as usize).sum();
    if total > req.state.config.max_report_bytes {
        return Err(DavError::condition(StatusCode::INSUFFICIENT_STORAGE, conditions::NUMBER_OF_MATCHES_WITHIN_LIMITS));
    }
    let name = name.to_string();
    let assemble = move || {
        let mut out = String::with_capacity(total + 256);
        out.push_str("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Almanach//Almanach//EN\r\nCALSCALE:GREGORIAN\r\n");
        push_folded(&mut out, &format!("X-WR-CALNAME:{}", escape_text(&name)));
        let mut timezones = HashSet::new();
        for object in objects {
            if let Some(content) = object.content.as_deref().and_then(|c| std::str::from_utf8(c).ok()) {
                append_components(content, &mut timezones, &mut out);
            }
        }
        out.push_str("END:VCALENDAR\r\n");
        out
    };
    if total <= 64 * 1024 {
        Ok(assemble())
    } else {
        Ok(req.compute(assemble).await?)
    }
}

/// Copy the components inside the VCALENDAR of `text` to `out`, skipping
/// VTIMEZONEs whose TZID was already written.
fn append_components(text: &str, timezones: &mut HashSet<String>, out: &mut String) {
    let mut depth = 0usize;
    let mut block: Vec<&str> = Vec::new();
    for line in text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        let upper_begin = starts_with_ignore_case(line, "BEGIN:");
        let upper_end = starts_with_ignore_case(line, "END:");
        if upper_begin {
            depth += 1;
        }
        if depth >= 2 {
            block.push(line);
        }
        if upper_end {
            depth = depth.saturating_sub(1);
            if depth == 1 && !block.is_empty() {
                flush_block(&block, timezones, out);
                block.clear();
            }
        }
    }
}

fn flush_block(block: &[&str], timezones: &mut HashSet<String>, out: &mut String) {
    if starts_with_ignore_case(block[0], "BEGIN:VTIMEZONE") {
        let tzid = block.iter().find(|l| starts_with_ignore_case(l, "TZID")).map(|l| l.to_string()).unwrap_or_default();
        if !timezones.insert(tzid) {
            return;
        }
    }
    for line in block {
        out.push_str(line);
        out.push_str("\r\n");
    }
}

fn starts_with_ignore_case(line: &str, prefix: &str) -> bool {
    line.len() >= prefix.len() && line.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// RFC 5545 §3.3.11 TEXT escaping.
fn escape_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TZ: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

    fn object(uid: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{TZ}BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART;TZID=Europe/Paris:20250101T100000\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    }

    #[test]
    fn components_are_copied_and_timezones_deduplicated() {
        let mut out = String::new();
        let mut tz = HashSet::new();
        append_components(&object("a"), &mut tz, &mut out);
        append_components(&object("b").replace("\r\n", "\n"), &mut tz, &mut out);
        assert_eq!(out.matches("BEGIN:VTIMEZONE").count(), 1);
        assert_eq!(out.matches("BEGIN:VEVENT").count(), 2);
        assert_eq!(out.matches("BEGIN:VALARM").count(), 2);
        assert!(!out.contains("PRODID"));
        assert!(out.contains("UID:b\r\n"));
    }

    #[test]
    fn folding_keeps_characters_whole() {
        let mut folded = String::new();
        push_folded(&mut folded, &format!("X-WR-CALNAME:{}", "é".repeat(60)));
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", "").trim_end(), format!("X-WR-CALNAME:{}", "é".repeat(60)));
    }
}
