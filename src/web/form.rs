//! Bounded reading of `application/x-www-form-urlencoded` bodies.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

/// The largest form body read by default.
pub const MAX_FORM_BYTES: usize = 8 * 1024;

/// A form's fields, in order.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The first value of field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn parse(bytes: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(bytes).into_owned().collect())
    }
}

/// Why a form could not be read (answered 400, or 413 when too large).
#[derive(Debug, PartialEq, Eq)]
pub enum FormError {
    TooLarge,
    Unreadable,
}

/// Read a form body of at most `limit` bytes, within `timeout`.
pub async fn read_form(body: Incoming, limit: usize, timeout: Duration) -> Result<Form, FormError> {
    let collected = tokio::time::timeout(timeout, Limited::new(body, limit).collect())
        .await
        .map_err(|_| FormError::Unreadable)?
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                FormError::TooLarge
            } else {
                FormError::Unreadable
            }
        })?;
    let bytes: Bytes = collected.to_bytes();
    Ok(Form::parse(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields() {
        let f = Form::parse(b"csrf=ab&name=%C3%89lise+M&name=second");
        assert_eq!(f.get("csrf"), Some("ab"));
        assert_eq!(f.get("name"), Some("Élise M"));
        assert_eq!(f.get("none"), None);
    }
}
