//! Calendar collections (RFC 4791) as the WebDAV core sees them: the
//! [`CollectionType`] CalDAV registers.

use async_trait::async_trait;

use super::preconditions as pre;
use super::{export, mkcalendar, put, report};
use crate::dav::collection_type::{CollectionType, MemberWrite, Prepared, QName, ReportTarget, WriteOp};
use crate::dav::error::{DavError, DavResult, Precondition};
use crate::dav::live_props::dead_property_text;
use crate::dav::resource::{HomeSpace, Resource};
use crate::dav::response::{set_header, with_body, Response};
use crate::dav::DavRequest;
use crate::store::{Collection, CollectionKind, ObjectMeta};
use crate::xml::{Element, NS_CALDAV, NS_DAV};

/// Where calendar homes live (RFC 4791 §6.2.1 `calendar-home-set`).
pub const CALENDAR_HOMES: HomeSpace = HomeSpace::new("calendars");

/// RFC 4791 §7.8.
pub const CALENDAR_QUERY: QName = (NS_CALDAV, "calendar-query");
/// RFC 4791 §7.9.
pub const CALENDAR_MULTIGET: QName = (NS_CALDAV, "calendar-multiget");
/// RFC 4791 §7.10.
pub const FREE_BUSY_QUERY: QName = (NS_CALDAV, "free-busy-query");

/// Calendar collections.
pub struct Calendars;

#[async_trait]
impl CollectionType for Calendars {
    fn kind(&self) -> CollectionKind {
        CollectionKind::Calendar
    }

    /// RFC 4791 §4.2, §5.3.1 (with RFC 5689 §4 for extended MKCOL).
    fn resourcetype(&self) -> &'static [QName] {
        &[(NS_CALDAV, "calendar")]
    }

    fn check_location(&self, target: &Resource, parent: &Collection) -> DavResult<()> {
        mkcalendar::check_location(target, parent)
    }

    /// §5.2.3: `supported-calendar-component-set`, protected afterwards,
    /// may be set when the calendar is created.
    fn creation_property(&self, prop: &Element) -> Option<Result<Vec<String>, Precondition>> {
        prop.is(NS_CALDAV, "supported-calendar-component-set")
            .then(|| mkcalendar::parse_component_set(prop).ok_or(pre::SUPPORTED_CALENDAR_COMPONENT))
    }

    /// §5.2.3: without the property, every component type.
    fn default_member_types(&self) -> &'static [&'static str] {
        &super::DEFAULT_COMPONENTS
    }

    /// §5.3.2: validated and indexed, stored as sent.
    fn prepare_write(&self, write: &MemberWrite) -> DavResult<Prepared> {
        let prepared = put::prepare(write.limits, write.content_type.as_deref(), &write.into.components, &write.body)?;
        Ok(Prepared::plain(write.body.clone(), prepared.content_type, prepared.index))
    }

    /// §5.3.2.1 `supported-calendar-component`: the member's component
    /// type (recorded in its content type when it was stored) must be one
    /// the calendar accepts.
    fn check_member(&self, into: &Collection, member: &ObjectMeta, _op: &WriteOp) -> DavResult<()> {
        match put::component_of(&member.content_type) {
            Some(component) if !into.components.iter().any(|c| c.eq_ignore_ascii_case(component)) => {
                Err(DavError::forbidden_by(pre::SUPPORTED_CALENDAR_COMPONENT))
            }
            _ => Ok(()),
        }
    }

    fn cheap_to_prepare(&self, body: &[u8]) -> bool {
        put::cheap_to_prepare(body)
    }

    fn no_uid_conflict(&self) -> Option<Precondition> {
        Some(pre::NO_UID_CONFLICT)
    }

    fn reports(&self, target: ReportTarget) -> &'static [QName] {
        match target {
            ReportTarget::Collection => &[CALENDAR_QUERY, CALENDAR_MULTIGET, FREE_BUSY_QUERY],
            ReportTarget::Member => &[CALENDAR_QUERY, CALENDAR_MULTIGET],
            ReportTarget::Home => &[CALENDAR_MULTIGET],
        }
    }

    async fn report(&self, name: QName, req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
        match name {
            CALENDAR_QUERY => report::calendar_query(req, resource, root).await,
            CALENDAR_MULTIGET => report::calendar_multiget(req, resource, root).await,
            FREE_BUSY_QUERY => report::free_busy_query(req, resource, root).await,
            _ => Err(DavError::forbidden_by(crate::dav::error::conditions::SUPPORTED_REPORT)),
        }
    }

    /// The whole calendar as one iCalendar object, for clients that
    /// subscribe to it rather than sync it.
    async fn get_collection(&self, req: &DavRequest<'_>, collection: &Collection) -> Option<DavResult<Response>> {
        Some(get_calendar(req, collection).await)
    }
}

async fn get_calendar(req: &DavRequest<'_>, collection: &Collection) -> DavResult<Response> {
    let name = dead_property_text(req, collection.id, NS_DAV, "displayname").await?;
    let name = name.unwrap_or_else(|| collection.name().to_string());
    let body = export::export_calendar(req, collection, &name).await?;
    let len = body.len();
    let head = req.method == http::Method::HEAD;
    let mut r = with_body(http::StatusCode::OK, "text/calendar; charset=utf-8", if head { String::new() } else { body });
    set_header(&mut r, http::header::CONTENT_LENGTH, &len.to_string());
    Ok(r)
}
