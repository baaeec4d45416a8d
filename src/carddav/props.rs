//! Live properties of CardDAV: on address books (RFC 6352 §6.2) and on
//! principals (§7.1.1, and `directory-gateway` of
//! draft-daboo-carddav-directory-gateway §3). `addressbook-description`
//! and `displayname` are dead properties, stored as sent.

use super::{directory, is_addressbook};
use crate::dav::error::DavResult;
use crate::dav::property::{LiveProperty, PropValue};
use crate::dav::resource::{HomeSpace, Resource};
use crate::dav::DavRequest;

/// The collations of `text-match` (RFC 6352 §8.3, RFC 4790).
pub const COLLATIONS: [&str; 3] = ["i;unicode-casemap", "i;ascii-casemap", "i;octet"];

/// The value of a CardDAV live property on `resource`; None when the
/// resource does not have it.
pub async fn live_value(req: &DavRequest<'_>, resource: &Resource, prop: LiveProperty) -> DavResult<Option<PropValue>> {
    use LiveProperty as P;
    let value = match (prop, resource) {
        (P::AddressbookHomeSet, Resource::Principal(p)) => {
            PropValue::Href(req.href(&HomeSpace::AddressBooks.home_path(&p.username)))
        }
        (P::DirectoryGateway, Resource::Principal(_)) => PropValue::Hrefs(vec![req.href(directory::DIRECTORY_PATH)]),
        (P::AddressbookDescription, Resource::Directory) => PropValue::Text(directory::DESCRIPTION.into()),
        (P::SupportedAddressData | P::AddressbookSupportedCollationSet | P::AddressbookMaxResourceSize, Resource::Directory) => {
            return address_book_value(req, prop)
        }
        (prop, Resource::Collection { collection, .. }) if is_addressbook(collection) => return address_book_value(req, prop),
        _ => return Ok(None),
    };
    Ok(Some(value))
}

/// The §6.2 properties of an address book (the directory's too).
fn address_book_value(req: &DavRequest<'_>, prop: LiveProperty) -> DavResult<Option<PropValue>> {
    use LiveProperty as P;
    Ok(Some(match prop {
        // §6.2.2: both versions are accepted and served.
        P::SupportedAddressData => PropValue::Xml(
            "<CR:address-data-type content-type=\"text/vcard\" version=\"3.0\"/>\
             <CR:address-data-type content-type=\"text/vcard\" version=\"4.0\"/>"
                .into(),
        ),
        P::AddressbookSupportedCollationSet => PropValue::Xml(
            COLLATIONS.iter().map(|c| format!("<CR:supported-collation>{c}</CR:supported-collation>")).collect(),
        ),
        P::AddressbookMaxResourceSize => PropValue::Text(req.state.config.max_resource_bytes.to_string()),
        _ => return Ok(None),
    }))
}
