//! Calendar user addresses (RFC 5545 §3.3.3 CAL-ADDRESS) and the set of
//! addresses of one calendar user (RFC 6638 §2.4.1
//! `calendar-user-address-set`).

use std::fmt;

/// A calendar user address: a URI, in practice `mailto:` (RFC 5545
/// §3.3.3). Two addresses are equal when their schemes are equal without
/// regard to ASCII case (RFC 3986 §3.1) and, for `mailto:`, their
/// addresses are too (RFC 6638 implementations compare e-mail addresses
/// case-insensitively, as mail systems deliver them); any other scheme
/// compares the rest exactly. Surrounding white space is ignored.
#[derive(Clone)]
pub struct CalAddress {
    text: String,
    /// The comparison key: `mailto:` + lower-cased address, or the lower-cased
    /// scheme + the rest as written.
    key: String,
}

impl CalAddress {
    pub fn new(text: &str) -> CalAddress {
        let text = text.trim().to_string();
        let key = match text.split_once(':') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mailto") => {
                format!("mailto:{}", rest.trim().to_ascii_lowercase())
            }
            Some((scheme, rest)) => format!("{}:{rest}", scheme.to_ascii_lowercase()),
            None => text.clone(),
        };
        CalAddress { text, key }
    }

    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_mailto(&self) -> bool {
        self.key.starts_with("mailto:")
    }

    /// The e-mail address of a `mailto:` address, as written.
    pub fn email(&self) -> Option<&str> {
        if !self.is_mailto() {
            return None;
        }
        self.text.split_once(':').map(|(_, rest)| rest.trim())
    }

    /// The comparison key (see the type's documentation).
    pub(crate) fn key(&self) -> &str {
        &self.key
    }
}

impl From<&str> for CalAddress {
    fn from(text: &str) -> CalAddress {
        CalAddress::new(text)
    }
}

impl PartialEq for CalAddress {
    fn eq(&self, other: &CalAddress) -> bool {
        self.key == other.key
    }
}

impl Eq for CalAddress {}

impl std::hash::Hash for CalAddress {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state)
    }
}

impl PartialOrd for CalAddress {
    fn partial_cmp(&self, other: &CalAddress) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CalAddress {
    fn cmp(&self, other: &CalAddress) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Debug for CalAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CalAddress({:?})", self.text)
    }
}

impl fmt::Display for CalAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The calendar user addresses of one calendar user (RFC 6638 §2.4.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressSet(Vec<CalAddress>);

impl AddressSet {
    pub fn new(addresses: impl IntoIterator<Item = CalAddress>) -> AddressSet {
        let mut set = AddressSet(Vec::new());
        for a in addresses {
            if !set.contains(&a) {
                set.0.push(a);
            }
        }
        set
    }

    pub fn contains(&self, address: &CalAddress) -> bool {
        self.0.iter().any(|a| a == address)
    }

    pub fn iter(&self) -> impl Iterator<Item = &CalAddress> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> FromIterator<&'a str> for AddressSet {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> AddressSet {
        AddressSet::new(iter.into_iter().map(CalAddress::new))
    }
}

impl FromIterator<CalAddress> for AddressSet {
    fn from_iter<I: IntoIterator<Item = CalAddress>>(iter: I) -> AddressSet {
        AddressSet::new(iter)
    }
}
