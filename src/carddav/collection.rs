//! Address book collections (RFC 6352) as the WebDAV core sees them: the
//! [`CollectionType`] CardDAV registers.

use async_trait::async_trait;
use bytes::Bytes;

use super::preconditions as pre;
use super::{get, put, report};
use crate::dav::collection_type::{CollectionType, MemberWrite, Prepared, QName, ReportTarget};
use crate::dav::error::{DavError, DavResult, Precondition};
use crate::dav::resource::{HomeSpace, Resource};
use crate::dav::response::Response;
use crate::dav::DavRequest;
use crate::store::{Collection, CollectionKind, ObjectMeta};
use crate::xml::{Element, NS_CARDDAV};

/// Where address book homes live (RFC 6352 §7.1.1 `addressbook-home-set`).
pub const ADDRESSBOOK_HOMES: HomeSpace = HomeSpace::new("addressbooks");

/// RFC 6352 §8.6.
pub const ADDRESSBOOK_QUERY: QName = (NS_CARDDAV, "addressbook-query");
/// RFC 6352 §8.7.
pub const ADDRESSBOOK_MULTIGET: QName = (NS_CARDDAV, "addressbook-multiget");

/// Address book collections.
pub struct AddressBooks;

#[async_trait]
impl CollectionType for AddressBooks {
    fn kind(&self) -> CollectionKind {
        CollectionKind::AddressBook
    }

    /// RFC 6352 §5.2, §6.3.1.
    fn resourcetype(&self) -> &'static [QName] {
        &[(NS_CARDDAV, "addressbook")]
    }

    fn check_location(&self, target: &Resource, parent: &Collection) -> DavResult<()> {
        super::check_location(target, parent)
    }

    /// §6.3.2: validated and indexed, stored as sent.
    fn prepare_write(&self, write: &MemberWrite) -> DavResult<Prepared> {
        let prepared = put::prepare(write.limits, write.content_type.as_deref(), &write.body)?;
        Ok(Prepared::plain(write.body.clone(), prepared.content_type, prepared.index))
    }

    fn no_uid_conflict(&self) -> Option<Precondition> {
        Some(pre::NO_UID_CONFLICT)
    }

    fn reports(&self, _target: ReportTarget) -> &'static [QName] {
        &[ADDRESSBOOK_QUERY, ADDRESSBOOK_MULTIGET]
    }

    async fn report(&self, name: QName, req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
        match name {
            ADDRESSBOOK_QUERY => report::addressbook_query(req, resource, root).await,
            ADDRESSBOOK_MULTIGET => report::addressbook_multiget(req, resource, root).await,
            _ => Err(DavError::forbidden_by(crate::dav::error::conditions::SUPPORTED_REPORT)),
        }
    }

    /// §5.1.1: a vCard in the version `Accept` asks for.
    fn represent(&self, accept: Option<&str>, meta: &ObjectMeta, body: &Bytes) -> Option<(String, Bytes)> {
        get::negotiate(accept, &meta.content_type, body)
    }

    fn varies_on_accept(&self) -> bool {
        true
    }
}
