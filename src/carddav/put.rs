//! PUT of an address object resource (RFC 6352 §6.3.2): the body is
//! validated against the preconditions of §6.3.2.1 and indexed, then stored
//! exactly as sent.


use super::preconditions as pre;
use crate::dav::collection_type::ResourceLimits;
use crate::dav::error::{DavResult, Precondition, Refusal};
use crate::store::ObjectIndex;
use crate::vcard::object::{parse_address_object, search_text, CardError};

/// What the store needs besides the bytes.
pub struct Prepared {
    pub content_type: String,
    pub index: ObjectIndex,
}

fn refuse(condition: Precondition) -> Refusal {
    Refusal::new(condition)
}

/// Check a body PUT into an address book against RFC 6352 §6.3.2.1 and
/// extract its index. `content_type` is the request's, if any. Nothing is
/// stored when this fails. This parses the body: compute work for large
/// ones.
pub fn prepare(limits: ResourceLimits, content_type: Option<&str>, body: &[u8]) -> DavResult<Prepared> {
    Ok(validate(limits, content_type, body)?)
}

/// [`prepare`], with the refusal's detail: what PUT checks, and what
/// `almanach import` checks each card with.
pub fn validate(limits: ResourceLimits, content_type: Option<&str>, body: &[u8]) -> Result<Prepared, Refusal> {
    if !limits.admit(body) {
        return Err(refuse(pre::MAX_RESOURCE_SIZE));
    }
    if let Some(ct) = content_type {
        if !crate::vcard::is_vcard_media_type(ct) {
            return Err(refuse(pre::SUPPORTED_ADDRESS_DATA));
        }
    }
    let object = parse_address_object(body).map_err(|e| match e {
        CardError::InvalidData(why) => Refusal::because(pre::VALID_ADDRESS_DATA, why),
        e @ CardError::UnsupportedVersion(_) => Refusal::because(pre::SUPPORTED_ADDRESS_DATA, e.to_string()),
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
