//! PUT of an address object resource (RFC 6352 §6.3.2): the body is
//! validated against the preconditions of §6.3.2.1 and indexed, then stored
//! exactly as sent.


use crate::dav::collection_type::ResourceLimits;
use super::preconditions as pre;
use crate::dav::error::{DavError, DavResult, Precondition};
use crate::store::ObjectIndex;
use crate::vcard::object::{parse_address_object, search_text, CardError};

/// What the store needs besides the bytes.
pub struct Prepared {
    pub content_type: String,
    pub index: ObjectIndex,
}

fn refuse(condition: Precondition) -> DavError {
    DavError::forbidden_by(condition)
}

/// Check a body PUT into an address book against RFC 6352 §6.3.2.1 and
/// extract its index. `content_type` is the request's, if any. Nothing is
/// stored when this fails. This parses the body: compute work for large
/// ones.
pub fn prepare(limits: ResourceLimits, content_type: Option<&str>, body: &[u8]) -> DavResult<Prepared> {
    if !limits.admit(body) {
        return Err(refuse(pre::MAX_RESOURCE_SIZE));
    }
    if let Some(ct) = content_type {
        if !crate::vcard::is_vcard_media_type(ct) {
            return Err(refuse(pre::SUPPORTED_ADDRESS_DATA));
        }
    }
    let object = parse_address_object(body).map_err(|e| {
        tracing::debug!(error = %e, "refused vCard");
        match e {
            CardError::InvalidData(_) => refuse(pre::VALID_ADDRESS_DATA),
            CardError::UnsupportedVersion(_) => refuse(pre::SUPPORTED_ADDRESS_DATA),
        }
    })?;
    Ok(Prepared {
        content_type: crate::vcard::media_type(object.version),
        index: ObjectIndex {
            uid: Some(object.uid.clone()),
            component: Some("VCARD".into()),
            search_text: Some(search_text(&object.card)),
            ..Default::default()
        },
    })
}
