//! The live properties CardDAV registers: on address books (RFC 6352 §6.2)
//! and the national directory, and on principals (§7.1.1, and
//! `directory-gateway` of draft-daboo-carddav-directory-gateway §3).
//! `addressbook-description` and `displayname` of address books are dead
//! properties, stored as sent.

use super::collection::ADDRESSBOOK_HOMES;
use super::{directory, is_addressbook};
use crate::dav::property::{LiveProperty, PropValue};
use crate::dav::resource::Resource;
use crate::dav::DavRequest;
use crate::xml::{OutElement, NS_CARDDAV};

/// The collations of `text-match` (RFC 6352 §8.3, RFC 4790).
pub const COLLATIONS: [&str; 3] = ["i;unicode-casemap", "i;ascii-casemap", "i;octet"];

pub fn properties() -> Vec<LiveProperty> {
    vec![
        ADDRESSBOOK_HOME_SET,
        DIRECTORY_GATEWAY,
        ADDRESSBOOK_DESCRIPTION,
        SUPPORTED_ADDRESS_DATA,
        SUPPORTED_COLLATION_SET,
        MAX_RESOURCE_SIZE,
    ]
}

/// RFC 6352 §7.1.1.
pub const ADDRESSBOOK_HOME_SET: LiveProperty = LiveProperty::now(NS_CARDDAV, "addressbook-home-set", |req, r, _| match r {
    Resource::Principal(p) => Some(PropValue::Href(req.href(&ADDRESSBOOK_HOMES.home_path(&p.username)))),
    _ => None,
});

/// draft-daboo-carddav-directory-gateway §3.
pub const DIRECTORY_GATEWAY: LiveProperty = LiveProperty::now(NS_CARDDAV, "directory-gateway", |req, r, _| match r {
    Resource::Principal(_) => Some(PropValue::Hrefs(vec![req.href(directory::DIRECTORY_PATH)])),
    _ => None,
});

/// RFC 6352 §6.2.1: live on the directory, dead on address books.
pub const ADDRESSBOOK_DESCRIPTION: LiveProperty = LiveProperty::now(NS_CARDDAV, "addressbook-description", |_, r, _| {
    directory::is_gateway(r).then(|| PropValue::Text(directory::DESCRIPTION.into()))
})
.unprotected();

/// RFC 6352 §6.2.2: both versions are accepted and served.
pub const SUPPORTED_ADDRESS_DATA: LiveProperty = LiveProperty::now(NS_CARDDAV, "supported-address-data", |_, r, _| {
    address_book(r).then(|| {
        PropValue::Elements(
            ["3.0", "4.0"]
                .into_iter()
                .map(|v| OutElement::empty(NS_CARDDAV, "address-data-type").attr("content-type", "text/vcard").attr("version", v))
                .collect(),
        )
    })
});

/// RFC 6352 §8.3.1.
pub const SUPPORTED_COLLATION_SET: LiveProperty = LiveProperty::now(NS_CARDDAV, "supported-collation-set", |_, r, _| {
    address_book(r).then(|| {
        PropValue::Elements(COLLATIONS.iter().map(|c| OutElement::text(NS_CARDDAV, "supported-collation", *c)).collect())
    })
});

/// RFC 6352 §6.2.3.
pub const MAX_RESOURCE_SIZE: LiveProperty = LiveProperty::now(NS_CARDDAV, "max-resource-size", |req: &DavRequest<'_>, r, _| {
    address_book(r).then(|| PropValue::Text(req.state.config.max_resource_bytes.to_string()))
});

/// Whether a resource is an address book (the directory is one).
fn address_book(r: &Resource) -> bool {
    match r {
        Resource::Collection { collection, .. } => is_addressbook(collection),
        _ => directory::is_gateway(r),
    }
}
