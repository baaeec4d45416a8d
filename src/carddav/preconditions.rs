//! The CardDAV precondition and postcondition elements (RFC 6352 §6.3.2.1,
//! §8: each is a child of `DAV:error` in a 403 or 409 answer).

use crate::dav::error::Precondition;
use crate::xml::NS_CARDDAV;

const fn carddav(name: &'static str) -> Precondition {
    Precondition::new(NS_CARDDAV, name)
}

/// §6.3.2.1 (PUT), §10.4 (reports): a media type or vCard version the
/// server does not support.
pub const SUPPORTED_ADDRESS_DATA: Precondition = carddav("supported-address-data");
/// §6.3.2.1: the resource is not a valid vCard.
pub const VALID_ADDRESS_DATA: Precondition = carddav("valid-address-data");
/// §6.3.2.1: another member already has this UID (with its href).
pub const NO_UID_CONFLICT: Precondition = carddav("no-uid-conflict");
/// §6.3.2.1: larger than `max-resource-size` (§6.2.3).
pub const MAX_RESOURCE_SIZE: Precondition = carddav("max-resource-size");
/// §6.3.1: an address book may not be created or placed here.
pub const ADDRESSBOOK_COLLECTION_LOCATION_OK: Precondition = carddav("addressbook-collection-location-ok");
/// §8.6: a filter the server cannot answer (with the prop-filters).
pub const SUPPORTED_FILTER: Precondition = carddav("supported-filter");
/// §8.3: a collation the server does not support.
pub const SUPPORTED_COLLATION: Precondition = carddav("supported-collation");
