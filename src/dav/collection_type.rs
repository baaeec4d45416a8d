//! What a kind of collection adds to the WebDAV core: a calendar (RFC 4791,
//! `caldav`), an address book (RFC 6352, `carddav`). A kind registers one
//! [`CollectionType`]; the core's handlers ask it at each point where a
//! collection of that kind behaves differently from a plain WebDAV
//! collection, and never name the protocol themselves.
//!
//! | where | what the core asks |
//! |---|---|
//! | MKCOL, MKCALENDAR, COPY/MOVE of the collection | [`CollectionType::check_location`], [`CollectionType::creation_property`] |
//! | PUT of a member into it | [`CollectionType::prepare_write`] (with the [`WriteOp`]) |
//! | COPY or MOVE of a member into it | [`CollectionType::check_member`] (with the [`WriteOp`]) |
//! | PROPPATCH of the collection | [`CollectionType::check_property`] |
//! | REPORT | [`CollectionType::reports`], [`CollectionType::report`] |
//! | GET | [`CollectionType::get_collection`], [`CollectionType::represent`] |
//! | POST | [`CollectionType::handles_post`], [`CollectionType::post`] |
//! | PROPFIND `resourcetype` | [`CollectionType::resourcetype`] |

use async_trait::async_trait;
use bytes::Bytes;

use super::error::{DavResult, Precondition};
use super::resource::{HomeSpace, Resource};
use super::response::Response;
use super::DavRequest;
use crate::auth::acl::{Privileges, SupportedPrivilege};
use crate::store::{Collection, CollectionKind, NewJob, ObjectIndex, ObjectMeta};
use crate::xml::Element;

/// An element name: (namespace, local name).
pub type QName = (&'static str, &'static str);

/// How big a member may be: in bytes (RFC 4791 §5.2.5, RFC 6352 §6.2.3
/// `max-resource-size`) and in content items (content lines, parameters
/// and values: what parsing costs).
#[derive(Debug, Clone, Copy)]
pub struct ResourceLimits {
    pub max_bytes: usize,
    pub max_items: usize,
}

impl ResourceLimits {
    pub fn of(config: &crate::config::Config) -> ResourceLimits {
        ResourceLimits { max_bytes: config.max_resource_bytes, max_items: config.max_resource_items }
    }

    /// Whether `body` fits; checked before any parsing.
    pub fn admit(&self, body: &[u8]) -> bool {
        body.len() <= self.max_bytes && crate::contentline::count_content_items(body) <= self.max_items
    }
}

/// Which write brings a member into a collection, so that a type never has
/// to guess (a MOVE into a calendar is not a new PUT).
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// PUT, replacing `previous` when there is one.
    Put { previous: Option<ObjectMeta> },
    /// COPY of `source` (which stays where it is).
    CopyIn { source: ObjectMeta },
    /// MOVE of `source` (which leaves its collection).
    MoveIn { source: ObjectMeta },
}

/// Which request takes a member out of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnbindOp {
    Delete,
    MoveOut,
}

/// A member about to be written into a collection, with everything
/// validation needs and nothing of the request (so that a background job
/// can validate with the same code).
#[derive(Debug, Clone)]
pub struct MemberWrite {
    /// The collection it is written into.
    pub into: Collection,
    pub limits: ResourceLimits,
    /// The `Content-Type` the client sent, if any.
    pub content_type: Option<String>,
    pub body: Bytes,
    pub op: WriteOp,
}

/// A member ready to be stored.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The bytes to store: the body, unless the type changed it (then the
    /// PUT answer carries no ETag, RFC 4791 §5.3.4, so that the client
    /// fetches what was stored).
    pub content: Bytes,
    pub content_type: String,
    pub index: ObjectIndex,
    /// Jobs written in the same transaction as the member (`OutboxStore`):
    /// they exist if and only if the write commits; run once it has.
    pub enqueue: Vec<NewJob>,
    /// The schedule tag to store (RFC 6638 §3.2.10); None for an object
    /// that is not a scheduling object.
    pub schedule_tag: Option<String>,
    /// The entity tag of the version this write was prepared against, when
    /// preparing read it (a scheduling change is computed from the version
    /// it replaces): the write applies only over that version, and is
    /// prepared again when another one took its place meanwhile.
    pub replaces: Option<String>,
}

impl Prepared {
    /// `content` stored as it is, with nothing else to do.
    pub fn plain(content: Bytes, content_type: String, index: ObjectIndex) -> Prepared {
        Prepared { content, content_type, index, enqueue: Vec::new(), schedule_tag: None, replaces: None }
    }
}

/// Where a report applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportTarget {
    /// The collection itself.
    Collection,
    /// One of its members.
    Member,
    /// The home that holds collections of this type.
    Home,
}

/// The location rule of calendars (RFC 4791 §4.2, §5.3.1) and address
/// books (RFC 6352 §5.2, §6.3.1): directly in their owner's home of
/// `space` (never inside another one: nested ones would be invisible to
/// clients that list the home at Depth 1), else 403 with `precondition`.
pub fn directly_in_home(target: &Resource, parent: &Collection, space: HomeSpace, precondition: Precondition) -> DavResult<()> {
    if target.space() == Some(space) && parent.parent.is_none() {
        Ok(())
    } else {
        Err(super::error::DavError::forbidden_by(precondition))
    }
}

/// A kind of collection (see the module documentation).
#[async_trait]
pub trait CollectionType: Send + Sync + 'static {
    /// The store's kind of the collections of this type.
    fn kind(&self) -> CollectionKind;

    /// The `DAV:resourcetype` elements besides `DAV:collection` (RFC 4918
    /// §15.9); an extended MKCOL names one of them to create this type
    /// (RFC 5689 §5.1).
    fn resourcetype(&self) -> &'static [QName];

    /// Where a collection of this type may be created, copied or moved to:
    /// `target` inside `parent`. The type's precondition when not.
    fn check_location(&self, target: &Resource, parent: &Collection) -> DavResult<()>;

    /// A property of a creation request (extended MKCOL, MKCALENDAR) that
    /// the type interprets itself: `Some(Ok(member types))` when it sets
    /// what members the collection accepts (RFC 4791 §5.2.3), `Some(Err)`
    /// when its value is refused; None when the core decides (a dead
    /// property, or a protected one refused).
    fn creation_property(&self, _prop: &Element) -> Option<Result<Vec<String>, Precondition>> {
        None
    }

    /// The member types of a collection created without naming them.
    fn default_member_types(&self) -> &'static [&'static str] {
        &[]
    }

    /// Validate a member PUT into a collection of this type and extract
    /// its index. Nothing is stored when this fails. Pure CPU work: the
    /// core runs it on the compute pool unless
    /// [`CollectionType::cheap_to_prepare`] says otherwise.
    fn prepare_write(&self, write: &MemberWrite) -> DavResult<Prepared>;

    /// Whether preparing `body` takes well under a millisecond (then it
    /// runs on the request's own task).
    fn cheap_to_prepare(&self, body: &[u8]) -> bool {
        body.len() <= 64 * 1024
    }

    /// Whether `member`, stored elsewhere, may be copied or moved (`op`)
    /// into `into`, a collection of this type. The store carries its bytes
    /// and index as they are: this checks only what depends on the
    /// collection (RFC 4791 §5.3.2.1 `supported-calendar-component`), on
    /// the member's metadata.
    fn check_member(&self, _into: &Collection, _member: &ObjectMeta, _op: &WriteOp) -> DavResult<()> {
        Ok(())
    }

    /// The precondition when another member already holds the UID of a
    /// member written (RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1); None when
    /// UIDs need not be unique.
    fn no_uid_conflict(&self) -> Option<Precondition>;

    /// A property PROPPATCH sets on a collection of this type, which the
    /// type gives a meaning to (RFC 6638 §9.2 `schedule-default-calendar-URL`
    /// on an inbox): `Ok(Err(precondition))` refuses the value (403).
    async fn check_property(
        &self,
        _req: &DavRequest<'_>,
        _collection: &Collection,
        _prop: &Element,
    ) -> DavResult<Result<(), Precondition>> {
        Ok(Ok(()))
    }

    /// The reports supported on `target` (RFC 3253 §3.1.5).
    fn reports(&self, target: ReportTarget) -> &'static [QName];

    /// Answer the report `name` on `resource` (the collection, a member or
    /// the home), whose body is `root`.
    async fn report(&self, name: QName, req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response>;

    /// GET of the collection itself; None: the core's HTML listing.
    async fn get_collection(&self, _req: &DavRequest<'_>, _collection: &Collection) -> Option<DavResult<Response>> {
        None
    }

    /// The representation of a member a GET should send when it is not the
    /// stored bytes (content negotiation): its content type and bytes.
    fn represent(&self, _accept: Option<&str>, _meta: &ObjectMeta, _body: &Bytes) -> Option<(String, Bytes)> {
        None
    }

    /// Whether [`CollectionType::represent`] depends on `Accept` (the answer
    /// then says `Vary: Accept`).
    fn varies_on_accept(&self) -> bool {
        false
    }

    /// Privileges collections of this type add under `DAV:all` (RFC 6638
    /// §6: a scheduling inbox's, an outbox's), listed by
    /// `supported-privilege-set` (RFC 3744 §5.3).
    fn privileges(&self) -> &'static [SupportedPrivilege] {
        &[]
    }

    /// Whether collections of this type answer POST (a scheduling outbox,
    /// RFC 6638 §5; sharing).
    fn handles_post(&self) -> bool {
        false
    }

    /// The privilege POST to a collection of this type needs.
    fn post_privilege(&self) -> Privileges {
        Privileges::WRITE_CONTENT
    }

    /// POST to a collection of this type, which [`CollectionType::handles_post`].
    async fn post(&self, _req: &DavRequest<'_>, _collection: &Collection) -> DavResult<Response> {
        Err(super::error::DavError::status(http::StatusCode::METHOD_NOT_ALLOWED))
    }
}

/// What a protocol adds to the members of a kind of collection it does not
/// define (RFC 6638 implicit scheduling on calendar objects): the core
/// asks every hook registered for the kind, after the type itself.
///
/// | where | what the core asks |
/// |---|---|
/// | PUT, DELETE, COPY and MOVE of a member | [`MemberHook::check_condition`] (after RFC 7232's) |
/// | PUT of a member | [`MemberHook::complete_write`] (after [`CollectionType::prepare_write`]) |
/// | COPY or MOVE of a member into it | [`MemberHook::check_member`] |
/// | DELETE, MOVE of a member out of it | [`MemberHook::before_unbind`] |
/// | DELETE of a collection of the kind | [`MemberHook::before_remove_collection`] |
/// | answers about a member (GET, HEAD, PUT, COPY, MOVE) | [`MemberHook::member_headers`] |
#[async_trait]
pub trait MemberHook: Send + Sync + 'static {
    /// The kind of collection whose members it concerns.
    fn kind(&self) -> CollectionKind;

    /// A condition of the request on the member it writes or removes
    /// (`current`, None when it does not exist yet), besides RFC 7232's
    /// (RFC 6638 §8.3 `If-Schedule-Tag-Match`).
    fn check_condition(&self, _req: &DavRequest<'_>, _current: Option<&ObjectMeta>) -> DavResult<()> {
        Ok(())
    }

    /// What writing the member causes beyond storing it: may change what
    /// is stored, add jobs, set the schedule tag and pin the version
    /// replaced ([`Prepared::replaces`]).
    async fn complete_write(&self, _req: &DavRequest<'_>, _write: &MemberWrite, prepared: Prepared) -> DavResult<Prepared> {
        Ok(prepared)
    }

    /// Whether `member` may be copied or moved into `into`.
    fn check_member(&self, _into: &Collection, _member: &ObjectMeta, _op: &WriteOp) -> DavResult<()> {
        Ok(())
    }

    /// Before a member leaves its collection (DELETE, MOVE out), once the
    /// request's preconditions hold: the jobs to write in the same
    /// transaction as its removal (which then applies only to the version
    /// `member` describes).
    async fn before_unbind(&self, _req: &DavRequest<'_>, _from: &Collection, _member: &ObjectMeta, _op: UnbindOp) -> DavResult<Vec<NewJob>> {
        Ok(Vec::new())
    }

    /// Before a collection of the kind is deleted with its members: the
    /// jobs to write in the same transaction, or a refusal.
    async fn before_remove_collection(&self, _req: &DavRequest<'_>, _collection: &Collection) -> DavResult<Vec<NewJob>> {
        Ok(Vec::new())
    }

    /// Headers every answer about `meta` carries (RFC 6638 §8.2
    /// `Schedule-Tag`).
    fn member_headers(&self, _meta: &ObjectMeta, _resp: &mut Response) {}
}
