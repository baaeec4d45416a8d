//! Request-URI paths: percent-decoding, normalisation and the hostile cases
//! (`..`, encoded slashes, invalid UTF-8), and href encoding for responses.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// Characters escaped in a path segment of an href (RFC 3986 `pchar` keeps the rest).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("path outside the server's base path")]
    OutsideBase,
    #[error("'.' and '..' segments are not allowed")]
    DotSegment,
    #[error("encoded '/' or NUL in a path segment")]
    EncodedSeparator,
    #[error("path is not valid UTF-8 once percent-decoded")]
    InvalidUtf8,
    /// RFC 7230 §5.3: a request-target carries no fragment.
    #[error("a request URI cannot contain a fragment")]
    Fragment,
}

/// A decoded, normalised request path below the base path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavPath {
    pub segments: Vec<String>,
    /// The request path ended with `/`.
    pub trailing_slash: bool,
}

impl DavPath {
    /// Parse the path of a Request-URI (or of a `Destination` header, after its
    /// scheme and authority are removed). `base_path` is the configured prefix.
    pub fn parse(raw: &str, base_path: &str) -> Result<DavPath, PathError> {
        if raw.contains('#') {
            return Err(PathError::Fragment);
        }
        let raw = raw.split('?').next().unwrap_or("");
        let rest = if base_path.is_empty() {
            raw
        } else {
            match raw.strip_prefix(base_path) {
                Some(r) if r.is_empty() || r.starts_with('/') => r,
                _ => return Err(PathError::OutsideBase),
            }
        };
        let mut segments = Vec::new();
        for seg in rest.split('/').filter(|s| !s.is_empty()) {
            let decoded = percent_decode_str(seg).decode_utf8().map_err(|_| PathError::InvalidUtf8)?;
            if decoded.contains('/') || decoded.contains('\0') {
                return Err(PathError::EncodedSeparator);
            }
            if decoded == "." || decoded == ".." {
                return Err(PathError::DotSegment);
            }
            segments.push(decoded.into_owned());
        }
        Ok(DavPath { trailing_slash: rest.ends_with('/') || segments.is_empty(), segments })
    }

    /// The path of a decoded store path (`/a/b/` or `/a/b`).
    pub fn from_store_path(store_path: &str) -> DavPath {
        DavPath::from_segments(
            store_path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            store_path.ends_with('/'),
        )
    }

    pub fn from_segments(segments: Vec<String>, trailing_slash: bool) -> DavPath {
        DavPath { trailing_slash: trailing_slash || segments.is_empty(), segments }
    }

    /// The store path of this resource as a collection: `/a/b/` (`/` for root).
    pub fn collection_path(&self) -> String {
        let mut s = String::from("/");
        for seg in &self.segments {
            s.push_str(seg);
            s.push('/');
        }
        s
    }

    /// The store path of this resource as a non-collection: `/a/b`.
    pub fn object_path(&self) -> String {
        let c = self.collection_path();
        if self.segments.is_empty() {
            c
        } else {
            c.trim_end_matches('/').to_string()
        }
    }

    pub fn last(&self) -> Option<&str> {
        self.segments.last().map(String::as_str)
    }

    pub fn parent(&self) -> Option<DavPath> {
        if self.segments.is_empty() {
            return None;
        }
        Some(DavPath::from_segments(self.segments[..self.segments.len() - 1].to_vec(), true))
    }

    /// Whether `self` equals `other` or lies below it.
    pub fn starts_with(&self, other: &DavPath) -> bool {
        self.segments.len() >= other.segments.len() && self.segments[..other.segments.len()] == other.segments[..]
    }
}

/// Percent-encode a decoded store path (`/a b/c/`) into an href, under `base_path`.
pub fn href(base_path: &str, decoded_path: &str) -> String {
    let mut out = String::with_capacity(base_path.len() + decoded_path.len() + 8);
    out.push_str(base_path);
    for (i, seg) in decoded_path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.extend(utf8_percent_encode(seg, SEGMENT));
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_normalises() {
        let p = DavPath::parse("/files/alice/r%C3%A9union%20A/", "").unwrap();
        assert_eq!(p.segments, vec!["files", "alice", "réunion A"]);
        assert!(p.trailing_slash);
        assert_eq!(p.collection_path(), "/files/alice/réunion A/");
        assert_eq!(p.object_path(), "/files/alice/réunion A");
        assert!(DavPath::parse("/", "").unwrap().segments.is_empty());
    }

    #[test]
    fn refuses_traversal_and_encoded_slash() {
        assert_eq!(DavPath::parse("/files/../etc", ""), Err(PathError::DotSegment));
        assert_eq!(DavPath::parse("/files/%2e%2e/x", ""), Err(PathError::DotSegment));
        assert_eq!(DavPath::parse("/files/a%2Fb", ""), Err(PathError::EncodedSeparator));
        assert_eq!(DavPath::parse("/files/a%00b", ""), Err(PathError::EncodedSeparator));
        assert_eq!(DavPath::parse("/files/%FF", ""), Err(PathError::InvalidUtf8));
        assert_eq!(DavPath::parse("/files/frag/#ment", ""), Err(PathError::Fragment));
    }

    #[test]
    fn base_path_is_stripped() {
        assert_eq!(DavPath::parse("/dav/files/", "/dav").unwrap().segments, vec!["files"]);
        assert_eq!(DavPath::parse("/other/files/", "/dav"), Err(PathError::OutsideBase));
        assert_eq!(DavPath::parse("/davx/files/", "/dav"), Err(PathError::OutsideBase));
    }

    #[test]
    fn encodes_hrefs() {
        assert_eq!(href("", "/files/alice/réunion A/"), "/files/alice/r%C3%A9union%20A/");
        assert_eq!(href("/dav", "/files/a#b%"), "/dav/files/a%23b%25");
        assert_eq!(href("", "/"), "/");
    }
}
