//! Partial retrieval of calendar data: the `CALDAV:comp`, `allcomp`,
//! `prop`, `allprop` elements and the `novalue` attribute of RFC 4791
//! §9.6.1-§9.6.4, applied to one parsed calendar object resource.
//!
//! # Semantics
//!
//! - The selection's top [`CompSelection`] names the root component
//!   (VCALENDAR); when the root is named otherwise, nothing is selected
//!   and the output is empty.
//! - A component's properties are kept when `all_props` is set or a
//!   [`PropSelection`] names them; VCALENDAR's own properties (VERSION,
//!   PRODID, ...) are no exception: the §7.8.1 example returns only
//!   VERSION. With `novalue`, the property keeps its name and parameters
//!   and gets an empty value (§9.6.4: "NAME;PARAMS:").
//! - A child component is kept when `all_comps` is set (then whole) or a
//!   child [`CompSelection`] names it (then recursively selected).
//! - A [`CompSelection`] with no `prop`, `allprop`, `comp` nor `allcomp`
//!   (an empty `<C:comp name="VTIMEZONE"/>` element) selects the *whole*
//!   component: that is how the §7.8.1 example answers
//!   `<C:comp name="VTIMEZONE"/>` (the VTIMEZONE comes back with its
//!   properties and STANDARD/DAYLIGHT). The XML layer therefore maps an
//!   empty `comp` element to an empty selection, and need not decide.
//! - Names compare without regard to ASCII case. Order is the object's
//!   own order, never the selection's.
//! - Output is iCalendar text with CRLF line ends, lines folded at 75
//!   octets; properties are written by calcard's writer (so values are
//!   re-serialised, not copied from the stored bytes).
//! - Components nested deeper than [`MAX_SELECT_DEPTH`] are left out.

use calcard::icalendar::{ICalendar, ICalendarComponent, ICalendarEntry};

use super::push_folded;

/// Components deeper than this below the root are not written.
pub const MAX_SELECT_DEPTH: usize = 16;

/// `CALDAV:comp` (RFC 4791 §9.6.1) with its `allprop`/`prop` and
/// `allcomp`/`comp` children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompSelection {
    pub name: String,
    pub all_props: bool,
    pub props: Vec<PropSelection>,
    pub all_comps: bool,
    pub comps: Vec<CompSelection>,
}

/// `CALDAV:prop` (RFC 4791 §9.6.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropSelection {
    pub name: String,
    pub novalue: bool,
}

impl CompSelection {
    /// The whole component (`allprop` and `allcomp`).
    pub fn all(name: impl Into<String>) -> CompSelection {
        CompSelection {
            name: name.into(),
            all_props: true,
            all_comps: true,
            ..CompSelection::default()
        }
    }

    /// Whether this selects the whole component: `allprop` + `allcomp`, or
    /// an empty `comp` element (see the module documentation).
    pub fn selects_everything(&self) -> bool {
        let empty =
            !self.all_props && self.props.is_empty() && !self.all_comps && self.comps.is_empty();
        empty || (self.all_props && self.all_comps)
    }
}

impl PropSelection {
    pub fn new(name: impl Into<String>) -> PropSelection {
        PropSelection {
            name: name.into(),
            novalue: false,
        }
    }
}

/// The parts of `cal` that `sel` selects, as iCalendar text.
pub fn select(cal: &ICalendar, sel: &CompSelection) -> String {
    let mut out = String::new();
    if let Some(root) = cal.components.first() {
        if root.component_type.as_str().eq_ignore_ascii_case(&sel.name) {
            write_component(cal, root, Scope::of(sel), &mut out, 0);
        }
    }
    out
}

/// A selection written piece by piece, for output that is generated one
/// component at a time (an expansion, RFC 4791 §9.6.5): the root's
/// beginning and properties, then each child, then the root's end.
#[derive(Clone, Copy)]
pub struct Selector<'s> {
    root: Scope<'s>,
}

impl<'s> Selector<'s> {
    /// The selector of `sel` (None: everything) for a root of `root_name`;
    /// None when `sel` names another root (nothing is selected).
    pub fn new(sel: Option<&'s CompSelection>, root_name: &str) -> Option<Selector<'s>> {
        match sel {
            None => Some(Selector { root: Scope::Whole }),
            Some(sel) if sel.name.eq_ignore_ascii_case(root_name) => Some(Selector { root: Scope::of(sel) }),
            Some(_) => None,
        }
    }

    /// `BEGIN:` and the selected properties of the root.
    pub fn begin_root(&self, root: &ICalendarComponent, out: &mut String) {
        push_folded(out, &format!("BEGIN:{}", root.component_type.as_str()));
        write_properties(root, self.root, out);
    }

    /// Component `idx` of `cal` as a child of the root, if selected.
    pub fn write_child(&self, cal: &ICalendar, idx: usize, out: &mut String) {
        if let Some(comp) = cal.components.get(idx) {
            if let Some(scope) = self.root.child(comp) {
                write_component(cal, comp, scope, out, 1);
            }
        }
    }

    pub fn end_root(&self, root: &ICalendarComponent, out: &mut String) {
        push_folded(out, &format!("END:{}", root.component_type.as_str()));
    }
}

/// What to write of one component.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Whole,
    Part(&'a CompSelection),
}

/// What to write of one property.
enum PropChoice {
    Skip,
    Full,
    NoValue,
}

impl<'a> Scope<'a> {
    fn of(sel: &'a CompSelection) -> Scope<'a> {
        if sel.selects_everything() {
            Scope::Whole
        } else {
            Scope::Part(sel)
        }
    }

    fn property(self, entry: &ICalendarEntry) -> PropChoice {
        let sel = match self {
            Scope::Part(sel) if !sel.all_props => sel,
            _ => return PropChoice::Full,
        };
        let name = entry.name.as_str();
        match sel.props.iter().find(|p| p.name.eq_ignore_ascii_case(name)) {
            None => PropChoice::Skip,
            Some(p) if p.novalue => PropChoice::NoValue,
            Some(_) => PropChoice::Full,
        }
    }

    fn child(self, comp: &ICalendarComponent) -> Option<Scope<'a>> {
        let sel = match self {
            Scope::Part(sel) if !sel.all_comps => sel,
            _ => return Some(Scope::Whole),
        };
        let name = comp.component_type.as_str();
        sel.comps
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .map(Scope::of)
    }
}

fn write_component(
    cal: &ICalendar,
    comp: &ICalendarComponent,
    scope: Scope<'_>,
    out: &mut String,
    depth: usize,
) {
    let name = comp.component_type.as_str();
    push_folded(out, &format!("BEGIN:{name}"));
    write_properties(comp, scope, out);
    if depth < MAX_SELECT_DEPTH {
        for &id in &comp.component_ids {
            let child = usize::try_from(id).ok().and_then(|i| cal.components.get(i));
            if let Some((child, child_scope)) = child.and_then(|c| Some((c, scope.child(c)?))) {
                write_component(cal, child, child_scope, out, depth + 1);
            }
        }
    }
    push_folded(out, &format!("END:{name}"));
}

/// The properties of `comp` that `scope` selects.
fn write_properties(comp: &ICalendarComponent, scope: Scope<'_>, out: &mut String) {
    for entry in &comp.entries {
        match scope.property(entry) {
            PropChoice::Skip => {}
            PropChoice::Full => write_entry(entry, out),
            PropChoice::NoValue => write_entry(&without_value(entry), out),
        }
    }
}

/// One property line (folded, CRLF) by calcard's writer.
fn write_entry(entry: &ICalendarEntry, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = entry.write_to(out);
}

/// §9.6.4 novalue: the name and parameters, no value.
fn without_value(entry: &ICalendarEntry) -> ICalendarEntry {
    ICalendarEntry {
        name: entry.name.clone(),
        params: entry.params.clone(),
        values: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::testdata::{appendix_b, crlf, parse};

    fn props(names: &[&str]) -> Vec<PropSelection> {
        names.iter().map(|n| PropSelection::new(*n)).collect()
    }

    /// The calendar-data selection of the RFC 4791 §7.8.1 request.
    fn rfc_7_8_1_selection() -> CompSelection {
        CompSelection {
            name: "VCALENDAR".into(),
            props: props(&["VERSION"]),
            comps: vec![
                CompSelection {
                    name: "VEVENT".into(),
                    props: props(&[
                        "SUMMARY",
                        "UID",
                        "DTSTART",
                        "DTEND",
                        "DURATION",
                        "RRULE",
                        "RDATE",
                        "EXRULE",
                        "EXDATE",
                        "RECURRENCE-ID",
                    ]),
                    ..CompSelection::default()
                },
                CompSelection {
                    name: "VTIMEZONE".into(),
                    ..CompSelection::default()
                },
            ],
            ..CompSelection::default()
        }
    }

    const US_EASTERN: &str = "BEGIN:VTIMEZONE
LAST-MODIFIED:20040110T032845Z
TZID:US/Eastern
BEGIN:DAYLIGHT
DTSTART:20000404T020000
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4
TZNAME:EDT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20001026T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZNAME:EST
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
END:VTIMEZONE
";

    #[test]
    fn rfc4791_7_8_1_partial_retrieval_abcd2() {
        let expected = format!(
            "BEGIN:VCALENDAR
VERSION:2.0
{US_EASTERN}BEGIN:VEVENT
DTSTART;TZID=US/Eastern:20060102T120000
DURATION:PT1H
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Event #2
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=US/Eastern:20060104T140000
DURATION:PT1H
RECURRENCE-ID;TZID=US/Eastern:20060104T120000
SUMMARY:Event #2 bis
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
END:VCALENDAR
"
        );
        assert_eq!(
            select(&appendix_b(2), &rfc_7_8_1_selection()),
            crlf(&expected)
        );
    }

    #[test]
    fn rfc4791_7_8_1_partial_retrieval_abcd3() {
        // The RFC's abcd3 answer also shows PRODID, which the request did
        // not select; only VERSION is returned, as for abcd2.
        let expected = format!(
            "BEGIN:VCALENDAR
VERSION:2.0
{US_EASTERN}BEGIN:VEVENT
DTSTART;TZID=US/Eastern:20060104T100000
DURATION:PT1H
SUMMARY:Event #3
UID:DC6C50A017428C5216A2F1CD@example.com
END:VEVENT
END:VCALENDAR
"
        );
        assert_eq!(
            select(&appendix_b(3), &rfc_7_8_1_selection()),
            crlf(&expected)
        );
    }

    #[test]
    fn rfc4791_7_8_1_selection_excludes_unselected_components() {
        // abcd4 is a VTODO: only VERSION remains.
        let out = select(&appendix_b(4), &rfc_7_8_1_selection());
        assert_eq!(out, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n");
    }

    #[test]
    fn whole_selection_equals_calcard_output() {
        for n in 1..=8 {
            let cal = appendix_b(n);
            let whole = cal.to_string();
            assert_eq!(
                select(&cal, &CompSelection::all("VCALENDAR")),
                whole,
                "abcd{n}"
            );
            let empty = CompSelection {
                name: "vcalendar".into(),
                ..CompSelection::default()
            };
            assert_eq!(select(&cal, &empty), whole, "abcd{n}");
        }
    }

    #[test]
    fn novalue_keeps_name_and_parameters() {
        let sel = CompSelection {
            name: "VCALENDAR".into(),
            comps: vec![CompSelection {
                name: "vevent".into(),
                props: vec![
                    PropSelection {
                        name: "attendee".into(),
                        novalue: true,
                    },
                    PropSelection::new("UID"),
                    PropSelection {
                        name: "x-abc-guid".into(),
                        novalue: true,
                    },
                ],
                ..CompSelection::default()
            }],
            ..CompSelection::default()
        };
        let expected = "BEGIN:VCALENDAR
BEGIN:VEVENT
ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:
ATTENDEE;PARTSTAT=NEEDS-ACTION:
UID:DC6C50A017428C5216A2F1CD@example.com
X-ABC-GUID:
END:VEVENT
END:VCALENDAR
";
        let out = select(&appendix_b(3), &sel);
        assert_eq!(out, crlf(expected));
        // The output still parses.
        let reparsed = parse(&out);
        assert_eq!(reparsed.components.len(), 2);
    }

    #[test]
    fn allprop_without_subcomponents_and_allcomp_without_props() {
        let allprop = CompSelection {
            name: "VCALENDAR".into(),
            comps: vec![CompSelection {
                name: "VTODO".into(),
                all_props: true,
                ..CompSelection::default()
            }],
            ..CompSelection::default()
        };
        let out = select(&appendix_b(4), &allprop);
        assert!(out.contains("SUMMARY:Task #1\r\n"));
        assert!(out.contains("DUE;VALUE=DATE:20060104\r\n"));
        assert!(!out.contains("VALARM"), "{out}");
        assert!(!out.contains("VERSION"), "{out}");

        let allcomp = CompSelection {
            name: "VCALENDAR".into(),
            comps: vec![CompSelection {
                name: "VTODO".into(),
                props: props(&["UID"]),
                all_comps: true,
                ..CompSelection::default()
            }],
            ..CompSelection::default()
        };
        let expected = "BEGIN:VCALENDAR
BEGIN:VTODO
UID:DDDEEB7915FA61233B861457@example.com
BEGIN:VALARM
ACTION:AUDIO
TRIGGER;RELATED=START:-PT10M
END:VALARM
END:VTODO
END:VCALENDAR
";
        assert_eq!(select(&appendix_b(4), &allcomp), crlf(expected));

        // A comp element holding only a comp: no properties of its own.
        let alarm_only = CompSelection {
            name: "VCALENDAR".into(),
            comps: vec![CompSelection {
                name: "VTODO".into(),
                comps: vec![CompSelection {
                    name: "VALARM".into(),
                    props: props(&["TRIGGER"]),
                    ..CompSelection::default()
                }],
                ..CompSelection::default()
            }],
            ..CompSelection::default()
        };
        let expected = "BEGIN:VCALENDAR
BEGIN:VTODO
BEGIN:VALARM
TRIGGER;RELATED=START:-PT10M
END:VALARM
END:VTODO
END:VCALENDAR
";
        assert_eq!(select(&appendix_b(4), &alarm_only), crlf(expected));
    }

    #[test]
    fn root_name_must_match() {
        let sel = CompSelection::all("VEVENT");
        assert_eq!(select(&appendix_b(1), &sel), "");
        assert_eq!(
            select(&ICalendar::default(), &CompSelection::all("VCALENDAR")),
            ""
        );
    }

    #[test]
    fn long_lines_are_folded_at_75_octets() {
        let summary = "Réunion très importante — ".repeat(8);
        let long_name = format!("X-{}", "Y".repeat(90));
        let ics = format!(
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\nBEGIN:VEVENT\nUID:1\nSUMMARY:{summary}\nEND:VEVENT\nBEGIN:{long_name}\nX-A:b\nEND:{long_name}\nEND:VCALENDAR\n"
        );
        let cal = parse(&ics);
        let out = select(&cal, &CompSelection::all("VCALENDAR"));
        assert!(out.ends_with("\r\n"));
        for line in out.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{summary}\r\n")));
        assert!(unfolded.contains(&format!("BEGIN:{long_name}\r\n")));
        assert!(unfolded.contains(&format!("END:{long_name}\r\n")));
        // And it reads back the same.
        let again = parse(&out);
        assert_eq!(select(&again, &CompSelection::all("VCALENDAR")), out);
    }

    #[test]
    fn folding_never_splits_a_character() {
        let mut out = String::new();
        let line = format!("BEGIN:{}", "é".repeat(100));
        push_folded(&mut out, &line);
        for physical in out.split("\r\n") {
            assert!(physical.len() <= 75);
        }
        assert_eq!(out.replace("\r\n ", ""), format!("{line}\r\n"));
    }

    #[test]
    fn malformed_component_tree_does_not_panic_or_loop() {
        let mut cal = appendix_b(4);
        cal.components[0].component_ids.push(42);
        cal.components[2].component_ids.push(1); // VALARM -> VTODO cycle
        let out = select(&cal, &CompSelection::all("VCALENDAR"));
        assert_eq!(out.matches("BEGIN:").count(), out.matches("END:").count());
        assert!(out.len() < 100_000);
    }
}
