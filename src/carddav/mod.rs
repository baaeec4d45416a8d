//! CardDAV (RFC 6352): address books on top of the WebDAV core.
//!
//! The WebDAV core routes here when a request concerns an address book:
//! creation by extended MKCOL (§6.3.1), validation of a PUT (§6.3.2), the
//! live properties of address books and principals (§6.2, §7.1), version
//! negotiation on GET (§5.1.1), and the `addressbook-query` and
//! `addressbook-multiget` reports (§8.6, §8.7). vCard semantics live in
//! [`crate::vcard`]; this module only translates between them, XML and the
//! store.

pub mod directory;
pub mod get;
pub mod preconditions;
pub mod props;
pub mod put;
pub mod report;

use crate::dav::error::{DavError, DavResult};
use crate::dav::resource::{create_default_collection, HomeSpace, Resource};
use crate::store::{Collection, CollectionKind, SharedStore, StoreResult};

/// Name of the address book every user gets on first use.
pub const DEFAULT_ADDRESSBOOK: &str = "contacts";

pub fn is_addressbook(c: &Collection) -> bool {
    c.kind == CollectionKind::AddressBook
}

/// A new address book home gets one address book, so that a client finds
/// somewhere to write on first use.
pub async fn create_default_addressbook(store: &SharedStore, home: &Collection) -> StoreResult<()> {
    create_default_collection(store, home, DEFAULT_ADDRESSBOOK, CollectionKind::AddressBook, vec![], "Contacts").await
}

/// Address books are created directly in their owner's address book home
/// (RFC 6352 §6.3.1: the server decides where; nested address books would
/// be invisible to clients that list the home at Depth 1).
pub fn check_location(resource: &Resource, parent: &Collection) -> DavResult<()> {
    let in_home = resource.space() == Some(HomeSpace::AddressBooks) && parent.parent.is_none();
    if in_home {
        Ok(())
    } else {
        Err(DavError::forbidden_by(preconditions::ADDRESSBOOK_COLLECTION_LOCATION_OK))
    }
}
