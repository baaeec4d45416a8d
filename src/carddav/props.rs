//! Live properties of CardDAV: on address books (RFC 6352 §6.2) and on
//! principals (§7.1.1, and `directory-gateway` of
//! draft-daboo-carddav-directory-gateway §3). `addressbook-description`
//! and `displayname` are dead properties, stored as sent.

use super::{directory, is_addressbook};
use crate::dav::error::DavResult;
use crate::dav::property::{LiveProperty, PropValue};
use crate::dav::resource::{HomeSpace, Resource};
use crate::dav::DavRequest;
use crate::xml::{OutElement, NS_CARDDAV};

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
        P::SupportedAddressData => PropValue::Elements(
            ["3.0", "4.0"]
                .into_iter()
                .map(|v| OutElement::empty(NS_CARDDAV, "address-data-type").attr("content-type", "text/vcard").attr("version", v))
                .collect(),
        ),
        P::AddressbookSupportedCollationSet => PropValue::Elements(
            COLLATIONS.iter().map(|c| OutElement::text(NS_CARDDAV, "supported-collation", *c)).collect(),
        ),
        P::AddressbookMaxResourceSize => PropValue::Text(req.state.config.max_resource_bytes.to_string()),
        _ => return Ok(None),
    }))
}
