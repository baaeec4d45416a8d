//! Parsing the XML of the CalDAV reports into the types of [`crate::ical`]:
//! the `filter` of `calendar-query` (RFC 4791 §9.7), the `calendar-data`
//! element of partial retrieval (§9.6) and time ranges (§9.9).

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::collation::{Collation, MatchType};
use crate::dav::error::{DavError, DavResult};
use crate::ical::filter::{CompFilter, ParamFilter, PropFilter, TextMatch};
use crate::ical::select::{CompSelection, PropSelection};
use crate::ical::TimeRange;
use crate::xml::{Element, NS_CALDAV};

fn invalid_filter(why: &str) -> DavError {
    tracing::debug!(why, "invalid calendar-query filter");
    DavError::forbidden_by(crate::caldav::preconditions::VALID_FILTER)
}

/// A UTC date-time of a `time-range` or `expand` attribute (§9.9:
/// "date with UTC time" — `20060104T000000Z`).
pub fn parse_utc(value: &str) -> Option<DateTime<Utc>> {
    let v = value.trim();
    let naive = NaiveDateTime::parse_from_str(v.strip_suffix('Z')?, "%Y%m%dT%H%M%S").ok()?;
    Some(naive.and_utc())
}

/// `start` and `end` attributes; at least one must be present (§9.9).
pub fn parse_time_range(e: &Element) -> DavResult<TimeRange> {
    let attr = |name: &str| -> DavResult<Option<DateTime<Utc>>> {
        match e.attr("", name) {
            None => Ok(None),
            Some(v) => parse_utc(v).map(Some).ok_or_else(|| invalid_filter("time-range value is not a UTC date-time")),
        }
    };
    let (start, end) = (attr("start")?, attr("end")?);
    if start.is_none() && end.is_none() {
        return Err(invalid_filter("time-range needs start or end"));
    }
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            return Err(invalid_filter("time-range end is not after its start"));
        }
    }
    Ok(TimeRange::new(start, end))
}

/// The `CALDAV:filter` element: exactly one VCALENDAR comp-filter (§9.7).
pub fn parse_filter(filter: &Element) -> DavResult<CompFilter> {
    let mut comps = filter.elements().filter(|e| e.is(NS_CALDAV, "comp-filter"));
    let top = comps.next().ok_or_else(|| invalid_filter("filter needs a comp-filter"))?;
    if comps.next().is_some() {
        return Err(invalid_filter("filter holds one comp-filter"));
    }
    let top = parse_comp_filter(top)?;
    if !top.name.eq_ignore_ascii_case("VCALENDAR") {
        return Err(invalid_filter("the top comp-filter must name VCALENDAR"));
    }
    Ok(top)
}

fn name_attr(e: &Element) -> DavResult<String> {
    e.attr("", "name").map(str::to_string).ok_or_else(|| invalid_filter("missing name attribute"))
}

fn parse_comp_filter(e: &Element) -> DavResult<CompFilter> {
    let mut f = CompFilter {
        name: name_attr(e)?,
        is_not_defined: false,
        time_range: None,
        prop_filters: vec![],
        comp_filters: vec![],
    };
    for child in e.elements().filter(|c| c.ns == NS_CALDAV) {
        match child.name.as_str() {
            "is-not-defined" => f.is_not_defined = true,
            "time-range" => f.time_range = Some(parse_time_range(child)?),
            "prop-filter" => f.prop_filters.push(parse_prop_filter(child)?),
            "comp-filter" => f.comp_filters.push(parse_comp_filter(child)?),
            _ => return Err(invalid_filter("unknown element in comp-filter")),
        }
    }
    Ok(f)
}

fn parse_prop_filter(e: &Element) -> DavResult<PropFilter> {
    let mut f = PropFilter {
        name: name_attr(e)?,
        is_not_defined: false,
        time_range: None,
        text_match: None,
        param_filters: vec![],
    };
    for child in e.elements().filter(|c| c.ns == NS_CALDAV) {
        match child.name.as_str() {
            "is-not-defined" => f.is_not_defined = true,
            "time-range" => f.time_range = Some(parse_time_range(child)?),
            "text-match" => f.text_match = Some(parse_text_match(child)?),
            "param-filter" => f.param_filters.push(parse_param_filter(child)?),
            _ => return Err(invalid_filter("unknown element in prop-filter")),
        }
    }
    Ok(f)
}

fn parse_param_filter(e: &Element) -> DavResult<ParamFilter> {
    let mut f = ParamFilter { name: name_attr(e)?, is_not_defined: false, text_match: None };
    for child in e.elements().filter(|c| c.ns == NS_CALDAV) {
        match child.name.as_str() {
            "is-not-defined" => f.is_not_defined = true,
            "text-match" => f.text_match = Some(parse_text_match(child)?),
            _ => return Err(invalid_filter("unknown element in param-filter")),
        }
    }
    Ok(f)
}

/// §9.7.5: substring match, `i;ascii-casemap` by default; an unknown
/// collation is the `supported-collation` precondition (§7.5.1).
fn parse_text_match(e: &Element) -> DavResult<TextMatch> {
    let collation = match e.attr("", "collation") {
        None => Collation::AsciiCasemap,
        Some(name) => Collation::parse(name)
            .ok_or_else(|| DavError::forbidden_by(crate::caldav::preconditions::SUPPORTED_COLLATION))?,
    };
    let negate = match e.attr("", "negate-condition") {
        None | Some("no") => false,
        Some("yes") => true,
        Some(_) => return Err(invalid_filter("negate-condition is yes or no")),
    };
    Ok(TextMatch { value: e.text(), collation, match_type: MatchType::Contains, negate })
}

/// What a `CALDAV:calendar-data` element of a report asks for (§9.6).
#[derive(Debug, Clone, Default)]
pub struct CalendarDataRequest {
    pub selection: Option<CompSelection>,
    pub expand: Option<TimeRange>,
    pub limit_recurrence_set: Option<TimeRange>,
    pub limit_freebusy_set: Option<TimeRange>,
}

impl CalendarDataRequest {
    /// The stored bytes answer it as they are.
    pub fn is_whole(&self) -> bool {
        self.selection.is_none()
            && self.expand.is_none()
            && self.limit_recurrence_set.is_none()
            && self.limit_freebusy_set.is_none()
    }
}

fn bad_data_request(why: &str) -> DavError {
    DavError::bad_request(format!("invalid calendar-data request: {why}"))
}

/// A bounded range for `expand` and the `limit-*` elements (§9.6.5-9.6.7:
/// both attributes required).
fn parse_bounded_range(e: &Element) -> DavResult<TimeRange> {
    let get = |name: &str| e.attr("", name).and_then(parse_utc).ok_or_else(|| bad_data_request("start and end must be UTC date-times"));
    let (start, end) = (get("start")?, get("end")?);
    if end <= start {
        return Err(bad_data_request("end must follow start"));
    }
    Ok(TimeRange::new(Some(start), Some(end)))
}

pub fn parse_calendar_data(e: &Element) -> DavResult<CalendarDataRequest> {
    // §9.6: only iCalendar 2.0 is served.
    let content_type = e.attr("", "content-type").unwrap_or("text/calendar");
    let version = e.attr("", "version").unwrap_or("2.0");
    if !content_type.eq_ignore_ascii_case("text/calendar") || version != "2.0" {
        return Err(DavError::forbidden_by(crate::caldav::preconditions::SUPPORTED_CALENDAR_DATA));
    }
    let mut request = CalendarDataRequest::default();
    for child in e.elements().filter(|c| c.ns == NS_CALDAV) {
        match child.name.as_str() {
            "comp" => request.selection = Some(parse_comp_selection(child)?),
            "expand" => request.expand = Some(parse_bounded_range(child)?),
            "limit-recurrence-set" => request.limit_recurrence_set = Some(parse_bounded_range(child)?),
            "limit-freebusy-set" => request.limit_freebusy_set = Some(parse_bounded_range(child)?),
            _ => {}
        }
    }
    Ok(request)
}

fn parse_comp_selection(e: &Element) -> DavResult<CompSelection> {
    let name = e.attr("", "name").ok_or_else(|| bad_data_request("comp needs a name"))?.to_string();
    let mut sel = CompSelection { name, all_props: false, props: vec![], all_comps: false, comps: vec![] };
    for child in e.elements().filter(|c| c.ns == NS_CALDAV) {
        match child.name.as_str() {
            "allprop" => sel.all_props = true,
            "allcomp" => sel.all_comps = true,
            "prop" => sel.props.push(PropSelection {
                name: child.attr("", "name").ok_or_else(|| bad_data_request("prop needs a name"))?.to_string(),
                novalue: child.attr("", "novalue") == Some("yes"),
            }),
            "comp" => sel.comps.push(parse_comp_selection(child)?),
            _ => {}
        }
    }
    Ok(sel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(parse_utc("20060104T000000Z").unwrap().to_rfc3339(), "2006-01-04T00:00:00+00:00");
        assert!(parse_utc("20060104T000000").is_none());
        assert!(parse_utc("2006-01-04").is_none());
    }
}
