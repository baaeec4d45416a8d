//! The scheduling inbox and outbox (RFC 6638 §2.1, §2.2): one of each in
//! every calendar home, made by the server (permanent default collections
//! of the home, never created, deleted or moved by a request).
//!
//! The inbox holds a copy of each scheduling message delivered to its
//! owner, which clients read with PROPFIND, GET, `calendar-query` and
//! `calendar-multiget` (§2.3) and remove with DELETE once seen; only the
//! server writes into it. The outbox holds nothing: clients POST busy time
//! requests (§5) and iTIP messages to it.

use async_trait::async_trait;

use super::props::default_calendar_target;
use crate::auth::acl::{Privileges, SupportedPrivilege, SCHEDULE_DELIVER_PRIVILEGES, SCHEDULE_SEND_PRIVILEGES};
use crate::caldav::collection::{CALENDAR_MULTIGET, CALENDAR_QUERY};
use crate::caldav::preconditions as pre;
use crate::caldav::report;
use crate::dav::collection_type::{CollectionType, MemberWrite, Prepared, QName, ReportTarget, WriteOp};
use crate::dav::error::{conditions, DavError, DavResult, Precondition};
use crate::dav::resource::Resource;
use crate::dav::response::Response;
use crate::dav::DavRequest;
use crate::store::{Collection, CollectionKind, ObjectMeta};
use crate::xml::{Element, NS_CALDAV};

/// The scheduling inbox (RFC 6638 §2.2).
pub struct Inbox;

/// The scheduling outbox (RFC 6638 §2.1).
pub struct Outbox;

fn made_by_the_server() -> DavError {
    DavError::forbidden("the scheduling inbox and outbox are made and filled by the server")
}

#[async_trait]
impl CollectionType for Inbox {
    fn kind(&self) -> CollectionKind {
        CollectionKind::ScheduleInbox
    }

    fn resourcetype(&self) -> &'static [QName] {
        &[(NS_CALDAV, "schedule-inbox")]
    }

    fn check_location(&self, _target: &Resource, _parent: &Collection) -> DavResult<()> {
        Err(made_by_the_server())
    }

    /// Messages are delivered by the server (§4), never written by a
    /// client.
    fn prepare_write(&self, _write: &MemberWrite) -> DavResult<Prepared> {
        Err(made_by_the_server())
    }

    fn check_member(&self, _into: &Collection, _member: &ObjectMeta, _op: &WriteOp) -> DavResult<()> {
        Err(made_by_the_server())
    }

    /// §2.2: several messages about one event may wait in the inbox.
    fn no_uid_conflict(&self) -> Option<Precondition> {
        None
    }

    /// §9.2: the default calendar must be a calendar of the inbox's owner.
    async fn check_property(
        &self,
        req: &DavRequest<'_>,
        inbox: &Collection,
        prop: &Element,
    ) -> DavResult<Result<(), Precondition>> {
        if !prop.is(NS_CALDAV, "schedule-default-calendar-URL") {
            return Ok(Ok(()));
        }
        Ok(match default_calendar_target(req.state, inbox.owner, prop).await? {
            Some(Ok(_)) | None => Ok(()),
            Some(Err(())) => Err(pre::VALID_SCHEDULE_DEFAULT_CALENDAR_URL),
        })
    }

    /// §2.3: `calendar-query` and `calendar-multiget`, not
    /// `free-busy-query`.
    fn reports(&self, target: ReportTarget) -> &'static [QName] {
        match target {
            ReportTarget::Collection | ReportTarget::Member => &[CALENDAR_QUERY, CALENDAR_MULTIGET],
            ReportTarget::Home => &[],
        }
    }

    async fn report(&self, name: QName, req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
        match name {
            CALENDAR_QUERY => report::calendar_query(req, resource, root).await,
            CALENDAR_MULTIGET => report::calendar_multiget(req, resource, root).await,
            _ => Err(DavError::forbidden_by(conditions::SUPPORTED_REPORT)),
        }
    }

    /// §6.1.
    fn privileges(&self) -> &'static [SupportedPrivilege] {
        std::slice::from_ref(&SCHEDULE_DELIVER_PRIVILEGES)
    }
}

#[async_trait]
impl CollectionType for Outbox {
    fn kind(&self) -> CollectionKind {
        CollectionKind::ScheduleOutbox
    }

    fn resourcetype(&self) -> &'static [QName] {
        &[(NS_CALDAV, "schedule-outbox")]
    }

    fn check_location(&self, _target: &Resource, _parent: &Collection) -> DavResult<()> {
        Err(made_by_the_server())
    }

    /// §2.1: members of the outbox are reserved to future extensions.
    fn prepare_write(&self, _write: &MemberWrite) -> DavResult<Prepared> {
        Err(made_by_the_server())
    }

    fn check_member(&self, _into: &Collection, _member: &ObjectMeta, _op: &WriteOp) -> DavResult<()> {
        Err(made_by_the_server())
    }

    fn no_uid_conflict(&self) -> Option<Precondition> {
        None
    }

    fn reports(&self, _target: ReportTarget) -> &'static [QName] {
        &[]
    }

    async fn report(&self, _name: QName, _req: &DavRequest<'_>, _resource: &Resource, _root: &Element) -> DavResult<Response> {
        Err(DavError::forbidden_by(conditions::SUPPORTED_REPORT))
    }

    /// §5: busy time requests and iTIP messages.
    fn handles_post(&self) -> bool {
        true
    }

    /// Which `schedule-send` privilege a POST needs depends on what it
    /// carries; [`super::freebusy::post`] checks it.
    fn post_privilege(&self) -> Privileges {
        Privileges::NONE
    }

    async fn post(&self, req: &DavRequest<'_>, outbox: &Collection) -> DavResult<Response> {
        super::freebusy::post(req, outbox).await
    }

    /// §6.2.
    fn privileges(&self) -> &'static [SupportedPrivilege] {
        std::slice::from_ref(&SCHEDULE_SEND_PRIVILEGES)
    }
}
