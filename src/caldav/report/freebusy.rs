//! `free-busy-query` (RFC 4791 §7.10): the busy time of a calendar in a
//! range, as one VFREEBUSY. Candidates come from the index; recurrences are
//! expanded and periods of the same type merged in a compute job
//! ([`crate::compute`]). When not every instance can be considered, the
//! answer is the §7.10 postcondition `DAV:number-of-matches-within-limits`
//! (507), never busy time that silently stops early.

use chrono::Utc;
use http::{header, StatusCode};

use super::default_zone;
use super::request::parse_time_range;
use crate::dav::error::{conditions, DavError, DavResult};
use crate::dav::resource::Resource;
use crate::dav::response::{set_header, with_body, Response};
use crate::dav::DavRequest;
use crate::ical::freebusy::{busy_periods, merge, vfreebusy_text, Incomplete};
use crate::ical::object::parse_stored;
use crate::store::ObjectQuery;
use crate::xml::{Element, NS_CALDAV};

pub async fn free_busy_query(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let range_element = root
        .child(NS_CALDAV, "time-range")
        .ok_or_else(|| DavError::bad_request("free-busy-query needs a time-range"))?;
    let range = parse_time_range(range_element)?;
    let calendars = match resource {
        Resource::Collection { collection, .. } if crate::caldav::is_calendar(collection) => vec![collection.clone()],
        _ => return Err(DavError::forbidden_by(conditions::SUPPORTED_REPORT)),
    };
    let mut work = Vec::new();
    for calendar in &calendars {
        let zone = default_zone(req, calendar, root).await?;
        let query = ObjectQuery {
            component: Some("VEVENT".into()),
            time_range: Some(range.millis()),
            with_content: true,
        };
        for candidate in req.state.store.query_objects(calendar.id, &query).await? {
            if let Some(content) = candidate.content {
                work.push((content, zone.clone()));
            }
        }
    }
    let job = move || -> Result<_, Incomplete> {
        let mut periods = Vec::new();
        for (content, zone) in work {
            if !crate::compute::charge_bytes(content.len()) {
                return Err(Incomplete);
            }
            let Ok(text) = String::from_utf8(content.to_vec()) else { continue };
            if let Ok(object) = parse_stored(text) {
                periods.extend(busy_periods(&object, &object.resolver(Some(zone)), &range)?);
            }
            if !crate::compute::charge(1) {
                return Err(Incomplete);
            }
        }
        Ok(merge(periods))
    };
    let periods = req.compute(job).await?.map_err(|Incomplete| {
        DavError::condition(StatusCode::INSUFFICIENT_STORAGE, conditions::NUMBER_OF_MATCHES_WITHIN_LIMITS)
    })?;
    let body = vfreebusy_text(&range, &periods, Utc::now());
    let mut resp = with_body(StatusCode::OK, "text/calendar; charset=utf-8", body);
    set_header(&mut resp, header::CACHE_CONTROL, "no-cache");
    Ok(resp)
}
