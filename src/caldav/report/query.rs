//! `calendar-query` (RFC 4791 §7.8): candidates come from the store's index
//! (component type and time bounds); only candidates the index cannot
//! decide are parsed and run through the full filter (§9.7), in a compute
//! job ([`crate::compute`]) with the rendering of their calendar-data.

use std::collections::HashMap;

use bytes::Bytes;

use super::request::{parse_filter, CalendarDataRequest};
use super::{calendar_data, default_zone, report_props, ReportProps, CALENDAR_DATA};
use crate::caldav::collection::CALENDAR_HOMES;
use crate::dav::report::{write_matches, Matches};
use crate::dav::multistatus::{write_cut, Cut};
use crate::dav::error::{DavError, DavResult};
use crate::dav::multistatus::MultiStatus;
use crate::dav::resource::Resource;
use crate::dav::response::{multistatus, Response};
use crate::dav::report::parse_limit;
use crate::dav::{DavRequest, Depth};
use crate::ical::filter::CompFilter;
use crate::ical::object::parse_stored;
use crate::ical::timerange::TimeContext;
use crate::ical::tz::Zone;
use crate::ical::TimeRange;
use crate::store::{Collection, IndexedObject, ObjectIndex, ObjectQuery};
use crate::xml::{Element, NS_CALDAV};

pub async fn calendar_query(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let props = report_props(req, root)?;
    let filter_element = root
        .child(NS_CALDAV, "filter")
        .ok_or_else(|| DavError::forbidden_by(crate::caldav::preconditions::VALID_FILTER))?;
    let filter = parse_filter(filter_element)?;
    let limit = parse_limit(root, &[crate::xml::NS_DAV])?;
    // RFC 3253 makes Depth 0 the default of REPORT; clients that omit it on
    // a calendar mean its members.
    let depth = req.depth(Depth::One)?;
    let mut query = Query { req, props: &props, filter: &filter, limit, ms: MultiStatus::new(), count: 0, cut: None };
    match resource {
        Resource::Collection { collection, .. } if crate::caldav::holds_calendar_objects(collection) && depth != Depth::Zero => {
            query.run_on_calendar(collection, root, None).await?;
        }
        Resource::Collection { collection, .. } if crate::caldav::holds_calendar_objects(collection) => {}
        Resource::Collection { collection, .. } if depth == Depth::Infinity => {
            for child in req.state.store.child_collections(collection.id).await? {
                if crate::caldav::is_calendar(&child) {
                    query.run_on_calendar(&child, root, None).await?;
                }
            }
        }
        Resource::Object { parent, meta, .. } => query.run_on_calendar(parent, root, Some(meta.name.clone())).await?,
        _ => {}
    }
    Ok(query.finish())
}

struct Query<'r, 'a> {
    req: &'r DavRequest<'a>,
    props: &'r ReportProps<'a>,
    filter: &'r CompFilter,
    limit: Option<usize>,
    ms: MultiStatus,
    count: usize,
    cut: Option<Cut>,
}

impl Query<'_, '_> {
    /// Evaluate the query on one calendar (or only on its member `only`):
    /// candidates from the index (async), then the filter and the
    /// calendar-data in a compute job, then the responses.
    async fn run_on_calendar(&mut self, calendar: &Collection, root: &Element, only: Option<String>) -> DavResult<()> {
        if self.cut.is_some() {
            return Ok(());
        }
        let zone = default_zone(self.req, calendar, root).await?;
        let shape = IndexShape::of(self.filter);
        let candidates = self.candidates(calendar, &shape, only.as_deref()).await?;
        let job = Evaluation {
            filter: self.filter.clone(),
            shape,
            zone,
            calendar_data: self.props.data.clone(),
            most_matches: self.limit.map(|l| l.saturating_sub(self.count)),
            most_bytes: self.req.state.config.max_report_bytes.saturating_sub(self.ms.len()),
            most_object_bytes: self.req.state.config.max_resource_bytes,
            candidates,
        };
        // Nothing to parse or render (the index decides every candidate, the
        // data asked for is the stored bytes): no hop to the pool.
        let outcome = if job.is_light() { job.run() } else { self.req.compute(move || job.run()).await? };
        let (written, cut) =
            write_matches(self.req, &mut self.ms, CALENDAR_HOMES, calendar, CALENDAR_DATA, &self.props.plan, outcome).await?;
        self.count += written;
        self.cut = cut;
        Ok(())
    }

    /// The index's candidates (only `only` when given), with the bytes of
    /// those it cannot decide (read in one batch when the listing did not
    /// bring them).
    async fn candidates(&self, calendar: &Collection, shape: &IndexShape, only: Option<&str>) -> DavResult<Vec<IndexedObject>> {
        let index_query = ObjectQuery {
            component: shape.component.clone(),
            time_range: shape.time_range.map(|r| r.millis()),
            with_content: self.props.needs_content(),
        };
        let store = &self.req.state.store;
        let mut candidates = store.query_objects(calendar.id, &index_query).await?;
        if let Some(name) = only {
            candidates.retain(|c| c.meta.name == name);
        }
        let undecided: Vec<String> = candidates
            .iter()
            .filter(|c| c.content.is_none() && shape.decide(&c.index).is_none())
            .map(|c| c.meta.name.clone())
            .collect();
        if !undecided.is_empty() {
            let mut fetched: HashMap<String, Bytes> = store
                .objects_by_name(calendar.id, None, &undecided, true)
                .await?
                .into_iter()
                .filter_map(|(m, c)| Some((m.name, c?)))
                .collect();
            for c in candidates.iter_mut().filter(|c| c.content.is_none()) {
                c.content = fetched.remove(&c.meta.name);
            }
        }
        Ok(candidates)
    }

    fn finish(mut self) -> Response {
        if let Some(cut) = self.cut {
            write_cut(self.req, &mut self.ms, cut);
        }
        multistatus(self.ms.finish())
    }
}

/// The CPU part of a calendar-query on one calendar, run as a compute job:
/// the filter on every candidate the index does not decide, and the
/// calendar-data of the matches.
struct Evaluation {
    filter: CompFilter,
    shape: IndexShape,
    zone: Zone,
    calendar_data: Option<CalendarDataRequest>,
    /// What is left of the client's `DAV:limit`.
    most_matches: Option<usize>,
    /// What is left of the answer's size budget.
    most_bytes: usize,
    /// The largest calendar-data generated for one object (an expansion
    /// is no larger than the largest object the server stores).
    most_object_bytes: usize,
    candidates: Vec<IndexedObject>,
}

impl Evaluation {
    /// Nothing to parse or render: every candidate decided by the index and
    /// the calendar-data, if asked for, the stored bytes.
    fn is_light(&self) -> bool {
        self.calendar_data.as_ref().is_none_or(CalendarDataRequest::is_whole)
            && self.candidates.iter().all(|c| self.shape.decide(&c.index).is_some())
    }

    fn run(self) -> Matches {
        let mut out = Matches::new(self.most_matches, self.most_bytes);
        for IndexedObject { meta, index, content } in self.candidates {
            let matched = match (self.shape.decide(&index), &content) {
                (Some(decided), _) => Some(decided),
                // Parsing costs by the kilobyte.
                (None, Some(c)) if !crate::compute::charge_bytes(c.len()) => None,
                (None, Some(c)) => matches(&self.filter, c, &self.zone),
                (None, None) => Some(false),
            };
            // An evaluation interrupted midway may be wrong: stop before it.
            if !crate::compute::charge(1) {
                out.stop(Cut::Budget);
                break;
            }
            let Some(matched) = matched else {
                out.stop(Cut::Instances);
                break;
            };
            if !matched {
                continue;
            }
            let (request, zone, most_object) = (self.calendar_data.as_ref(), &self.zone, self.most_object_bytes);
            if !out.offer(meta, |room| calendar_data(request, content.as_ref(), zone, room.min(most_object))) {
                break;
            }
        }
        out
    }
}

/// The full filter (§9.7) on one object's stored bytes; None when it does
/// not match but might have, had the instances it needed all been
/// enumerated (more than the server evaluates for one object). A match
/// found among the instances enumerated stands: time ranges ask whether
/// some instance overlaps.
fn matches(filter: &CompFilter, content: &Bytes, zone: &Zone) -> Option<bool> {
    let Ok(text) = std::str::from_utf8(content) else { return Some(false) };
    match parse_stored(text.to_string()) {
        Ok(object) => {
            let time = TimeContext::new(&object, Some(zone.clone()));
            let matched = crate::ical::filter::matches(&object.ical, filter, &time);
            (matched || !time.incomplete()).then_some(matched)
        }
        Err(_) => Some(false),
    }
}

/// What the index can tell about a filter: the component type asked for,
/// its time range, and whether the filter says nothing else (then a
/// simple, non-recurring event is decided on its indexed bounds). Public
/// for the `calendar_query` fuzz target, which checks it against the full
/// filter.
pub struct IndexShape {
    /// The store's candidates are of this component type...
    pub component: Option<String>,
    /// ...and their index bounds meet this range.
    pub time_range: Option<TimeRange>,
    only_time_range: bool,
}

impl IndexShape {
    pub fn of(filter: &CompFilter) -> IndexShape {
        let none = IndexShape { component: None, time_range: None, only_time_range: false };
        if filter.is_not_defined || filter.time_range.is_some() || !filter.prop_filters.is_empty() {
            return none;
        }
        let [comp] = filter.comp_filters.as_slice() else { return none };
        if comp.is_not_defined {
            return none;
        }
        IndexShape {
            component: Some(comp.name.to_ascii_uppercase()),
            time_range: comp.time_range,
            only_time_range: comp.prop_filters.is_empty() && comp.comp_filters.is_empty(),
        }
    }

    /// Some(answer) when the index entry alone decides the filter.
    pub fn decide(&self, index: &ObjectIndex) -> Option<bool> {
        if !self.only_time_range {
            return None;
        }
        let Some(range) = &self.time_range else { return Some(true) };
        if index.component.as_deref() != Some("VEVENT") {
            return None;
        }
        if let Some(instances) = &index.instances {
            return Some(instances.iter().any(|(s, e)| event_overlaps(*s, *e, range)));
        }
        if !index.time_simple {
            return None;
        }
        let (s, e) = (index.time_start?, index.time_end?);
        Some(event_overlaps(s, e, range))
    }
}

/// RFC 4791 §9.9, VEVENT: an event `[s, e)` overlaps when
/// `start < e AND end > s`; an instantaneous one (`e == s`) when
/// `start <= s AND end > s`.
fn event_overlaps(s: i64, e: i64, range: &TimeRange) -> bool {
    let (start, end) = range.millis();
    if e > s {
        start < e && end > s
    } else {
        start <= s && end > s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn range(a: i64, b: i64) -> TimeRange {
        TimeRange::new(Utc.timestamp_millis_opt(a).single(), Utc.timestamp_millis_opt(b).single())
    }

    #[test]
    fn simple_event_overlap_follows_section_9_9() {
        // [10, 20) against ranges touching its ends: end is exclusive.
        assert!(!event_overlaps(10, 20, &range(20, 30)));
        assert!(!event_overlaps(10, 20, &range(0, 10)));
        assert!(event_overlaps(10, 20, &range(19, 30)));
        // Zero duration at 10: start-inclusive.
        assert!(event_overlaps(10, 10, &range(10, 11)));
        assert!(!event_overlaps(10, 10, &range(0, 10)));
        // Start-only range.
        assert!(event_overlaps(10, 20, &TimeRange::new(Utc.timestamp_millis_opt(15).single(), None)));
    }
}
