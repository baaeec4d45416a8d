//! CardDAV (RFC 6352): address books on top of the WebDAV core.
//!
//! The WebDAV core routes here when a request concerns an address book:
//! creation by extended MKCOL (§6.3.1), validation of a PUT (§6.3.2), the
//! live properties of address books and principals (§6.2, §7.1), version
//! negotiation on GET (§5.1.1), and the `addressbook-query` and
//! `addressbook-multiget` reports (§8.6, §8.7). vCard semantics live in
//! [`crate::vcard`]; this module only translates between them, XML and the
//! store.

pub mod collection;
pub mod directory;
pub mod get;
pub mod preconditions;
pub mod props;
pub mod put;
pub mod report;

use std::sync::Arc;

use crate::dav::collection_type::directly_in_home;
use crate::dav::error::DavResult;
use crate::dav::registry::{DefaultCollection, HomeDef, Protocol};
use crate::dav::resource::Resource;
use crate::store::{Collection, CollectionKind};

/// Name of the address book every user gets on first use.
pub const DEFAULT_ADDRESSBOOK: &str = "contacts";

pub fn is_addressbook(c: &Collection) -> bool {
    c.kind == CollectionKind::AddressBook
}

/// Address books are created directly in their owner's address book home
/// (RFC 6352 §6.3.1: the server decides where; nested address books would
/// be invisible to clients that list the home at Depth 1).
pub fn check_location(resource: &Resource, parent: &Collection) -> DavResult<()> {
    directly_in_home(resource, parent, collection::ADDRESSBOOK_HOMES, preconditions::ADDRESSBOOK_COLLECTION_LOCATION_OK)
}

/// What CardDAV adds to the WebDAV core, the national directory included.
pub fn protocol() -> Protocol {
    Protocol {
        // RFC 6352 §6.1.
        dav_classes: vec!["addressbook"],
        homes: vec![HomeDef {
            space: collection::ADDRESSBOOK_HOMES,
            holds: Some(CollectionKind::AddressBook),
            // One address book, so that a client finds somewhere to write
            // on first use.
            default_collections: vec![DefaultCollection {
                name: DEFAULT_ADDRESSBOOK,
                kind: CollectionKind::AddressBook,
                member_types: &[],
                display_name: "Contacts",
                permanent: false,
            }],
        }],
        home_collections: Vec::new(),
        collection_types: vec![Arc::new(collection::AddressBooks)],
        member_hooks: Vec::new(),
        properties: props::properties(),
        methods: Vec::new(),
        property_checks: Vec::new(),
        mounts: vec![Arc::new(directory::Directory)],
        principal_search: Vec::new(),
    }
}
