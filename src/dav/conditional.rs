//! HTTP conditional requests (RFC 7232 §3) on stored objects: `If-Match` and
//! `If-None-Match`. For writes the result is a store [`WriteCondition`], so
//! the check happens inside the store's transaction.

use http::StatusCode;

use super::error::{DavError, DavResult};
use super::DavRequest;
use crate::store::WriteCondition;

/// An entity-tag list header value: `*` or tags.
enum TagList {
    Any,
    Tags(Vec<EntityTag>),
}

struct EntityTag {
    weak: bool,
    opaque: String,
}

fn parse_list(value: &str) -> DavResult<TagList> {
    let value = value.trim();
    if value == "*" {
        return Ok(TagList::Any);
    }
    let mut tags = Vec::new();
    for raw in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (weak, quoted) = match raw.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let opaque = quoted
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .ok_or_else(|| DavError::bad_request(format!("malformed entity tag {raw:?}")))?;
        tags.push(EntityTag { weak, opaque: opaque.to_string() });
    }
    Ok(TagList::Tags(tags))
}

impl TagList {
    /// Strong comparison (RFC 7232 §2.3.2), used by If-Match.
    fn matches_strong(&self, current: &str) -> bool {
        match self {
            TagList::Any => true,
            TagList::Tags(tags) => tags.iter().any(|t| !t.weak && t.opaque == current),
        }
    }
    /// Weak comparison, used by If-None-Match.
    fn matches_weak(&self, current: &str) -> bool {
        match self {
            TagList::Any => true,
            TagList::Tags(tags) => tags.iter().any(|t| t.opaque == current),
        }
    }
}

/// The write condition of a PUT or DELETE given the object's current ETag
/// (None when unmapped). Both headers are evaluated (RFC 7232 §6);
/// conditions that cannot hold are 412 at once, the rest are re-checked
/// atomically by the store.
pub fn write_condition(req: &DavRequest<'_>, current: Option<&str>) -> DavResult<WriteCondition> {
    let failed = || DavError::status(StatusCode::PRECONDITION_FAILED);
    let mut condition = WriteCondition::None;
    if let Some(v) = req.header("if-match") {
        condition = match (parse_list(v)?, current) {
            (TagList::Any, _) => WriteCondition::MustExist,
            (list, Some(etag)) if list.matches_strong(etag) => WriteCondition::ETagMatches(etag.to_string()),
            _ => return Err(failed()),
        };
    }
    if let Some(v) = req.header("if-none-match") {
        match (parse_list(v)?, current) {
            (TagList::Any, Some(_)) => return Err(failed()),
            (TagList::Any, None) if condition == WriteCondition::None => condition = WriteCondition::MustNotExist,
            (TagList::Any, None) => return Err(failed()),
            (list, Some(etag)) if list.matches_weak(etag) => return Err(failed()),
            // The tags name other versions: the write may proceed only if
            // the object is still the one we saw.
            (_, Some(etag)) if condition == WriteCondition::None => {
                condition = WriteCondition::ETagMatches(etag.to_string())
            }
            _ => {}
        }
    }
    Ok(condition)
}

/// For GET/HEAD: 412 when `If-Match` fails, 304 when `If-None-Match` matches.
pub fn read_precondition(req: &DavRequest<'_>, current: &str) -> DavResult<Option<StatusCode>> {
    if let Some(v) = req.header("if-match") {
        if !parse_list(v)?.matches_strong(current) {
            return Ok(Some(StatusCode::PRECONDITION_FAILED));
        }
    }
    if let Some(v) = req.header("if-none-match") {
        if parse_list(v)?.matches_weak(current) {
            return Ok(Some(StatusCode::NOT_MODIFIED));
        }
    }
    Ok(None)
}
