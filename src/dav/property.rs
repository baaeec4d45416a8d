//! Typed properties. A property name is a namespace and a local name at the
//! XML edge; inside the server, the live properties are [`LiveProperty`] and
//! everything else is a dead property stored as received.

use crate::store::Lock;
use crate::xml::{OutElement, XmlWriter, NS_CALDAV, NS_CALENDARSERVER, NS_CARDDAV, NS_DAV};

/// A property name as it appears on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PropName {
    pub ns: String,
    pub name: String,
}

impl PropName {
    pub fn new(ns: &str, name: &str) -> Self {
        PropName { ns: ns.to_string(), name: name.to_string() }
    }
}

/// Properties the server computes (RFC 4918 §15, RFC 3744 §4-5, RFC 4331,
/// RFC 5397, RFC 6578 §4, RFC 4791 §5.2 and §6, RFC 6352 §6.2 and §7.1,
/// caldav-ctag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveProperty {
    ResourceType,
    GetETag,
    GetContentType,
    GetContentLength,
    GetLastModified,
    CreationDate,
    /// Live on principals (their display name) and the national
    /// directory; a dead property elsewhere.
    DisplayName,
    LockDiscovery,
    SupportedLock,
    Owner,
    CurrentUserPrincipal,
    PrincipalUrl,
    PrincipalCollectionSet,
    AlternateUriSet,
    GroupMembership,
    SupportedReportSet,
    CurrentUserPrivilegeSet,
    QuotaUsedBytes,
    QuotaAvailableBytes,
    /// RFC 6578 §4: on every collection.
    SyncToken,
    /// caldav-ctag §4.1 (CalendarServer namespace).
    GetCtag,
    // RFC 4791 §6.2.1, RFC 6638 §2.4.1, §2.4.2 (principals)
    CalendarHomeSet,
    CalendarUserAddressSet,
    CalendarUserType,
    // RFC 4791 §5.2 (calendar collections)
    SupportedCalendarComponentSet,
    SupportedCalendarData,
    SupportedCollationSet,
    MaxResourceSize,
    MinDateTime,
    MaxDateTime,
    MaxInstances,
    MaxAttendeesPerInstance,
    // RFC 6352 §7.1.1 (principals) and §6.2 (address book collections)
    AddressbookHomeSet,
    SupportedAddressData,
    AddressbookSupportedCollationSet,
    AddressbookMaxResourceSize,
    /// Live on the national directory; a dead property on address books.
    AddressbookDescription,
    /// draft-daboo-carddav-directory-gateway §3 (principals).
    DirectoryGateway,
}

impl LiveProperty {
    pub const ALL: [LiveProperty; 38] = [
        LiveProperty::ResourceType,
        LiveProperty::GetETag,
        LiveProperty::GetContentType,
        LiveProperty::GetContentLength,
        LiveProperty::GetLastModified,
        LiveProperty::CreationDate,
        LiveProperty::DisplayName,
        LiveProperty::LockDiscovery,
        LiveProperty::SupportedLock,
        LiveProperty::Owner,
        LiveProperty::CurrentUserPrincipal,
        LiveProperty::PrincipalUrl,
        LiveProperty::PrincipalCollectionSet,
        LiveProperty::AlternateUriSet,
        LiveProperty::GroupMembership,
        LiveProperty::SupportedReportSet,
        LiveProperty::CurrentUserPrivilegeSet,
        LiveProperty::QuotaUsedBytes,
        LiveProperty::QuotaAvailableBytes,
        LiveProperty::SyncToken,
        LiveProperty::GetCtag,
        LiveProperty::CalendarHomeSet,
        LiveProperty::CalendarUserAddressSet,
        LiveProperty::CalendarUserType,
        LiveProperty::SupportedCalendarComponentSet,
        LiveProperty::SupportedCalendarData,
        LiveProperty::SupportedCollationSet,
        LiveProperty::MaxResourceSize,
        LiveProperty::MinDateTime,
        LiveProperty::MaxDateTime,
        LiveProperty::MaxInstances,
        LiveProperty::MaxAttendeesPerInstance,
        LiveProperty::AddressbookHomeSet,
        LiveProperty::SupportedAddressData,
        LiveProperty::AddressbookSupportedCollationSet,
        LiveProperty::AddressbookMaxResourceSize,
        LiveProperty::AddressbookDescription,
        LiveProperty::DirectoryGateway,
    ];

    /// The namespace of the element.
    pub fn namespace(self) -> &'static str {
        use LiveProperty as P;
        match self {
            P::GetCtag => NS_CALENDARSERVER,
            P::CalendarHomeSet
            | P::CalendarUserAddressSet
            | P::CalendarUserType
            | P::SupportedCalendarComponentSet
            | P::SupportedCalendarData
            | P::SupportedCollationSet
            | P::MaxResourceSize
            | P::MinDateTime
            | P::MaxDateTime
            | P::MaxInstances
            | P::MaxAttendeesPerInstance => NS_CALDAV,
            P::AddressbookHomeSet
            | P::SupportedAddressData
            | P::AddressbookSupportedCollationSet
            | P::AddressbookMaxResourceSize
            | P::AddressbookDescription
            | P::DirectoryGateway => NS_CARDDAV,
            _ => NS_DAV,
        }
    }

    /// The element's local name.
    pub fn local_name(self) -> &'static str {
        match self {
            LiveProperty::ResourceType => "resourcetype",
            LiveProperty::GetETag => "getetag",
            LiveProperty::GetContentType => "getcontenttype",
            LiveProperty::GetContentLength => "getcontentlength",
            LiveProperty::GetLastModified => "getlastmodified",
            LiveProperty::CreationDate => "creationdate",
            LiveProperty::DisplayName => "displayname",
            LiveProperty::LockDiscovery => "lockdiscovery",
            LiveProperty::SupportedLock => "supportedlock",
            LiveProperty::Owner => "owner",
            LiveProperty::CurrentUserPrincipal => "current-user-principal",
            LiveProperty::PrincipalUrl => "principal-URL",
            LiveProperty::PrincipalCollectionSet => "principal-collection-set",
            LiveProperty::AlternateUriSet => "alternate-URI-set",
            LiveProperty::GroupMembership => "group-membership",
            LiveProperty::SupportedReportSet => "supported-report-set",
            LiveProperty::CurrentUserPrivilegeSet => "current-user-privilege-set",
            LiveProperty::QuotaUsedBytes => "quota-used-bytes",
            LiveProperty::QuotaAvailableBytes => "quota-available-bytes",
            LiveProperty::SyncToken => "sync-token",
            LiveProperty::GetCtag => "getctag",
            LiveProperty::CalendarHomeSet => "calendar-home-set",
            LiveProperty::CalendarUserAddressSet => "calendar-user-address-set",
            LiveProperty::CalendarUserType => "calendar-user-type",
            LiveProperty::SupportedCalendarComponentSet => "supported-calendar-component-set",
            LiveProperty::SupportedCalendarData => "supported-calendar-data",
            LiveProperty::SupportedCollationSet => "supported-collation-set",
            LiveProperty::MaxResourceSize => "max-resource-size",
            LiveProperty::MinDateTime => "min-date-time",
            LiveProperty::MaxDateTime => "max-date-time",
            LiveProperty::MaxInstances => "max-instances",
            LiveProperty::MaxAttendeesPerInstance => "max-attendees-per-instance",
            LiveProperty::AddressbookHomeSet => "addressbook-home-set",
            LiveProperty::SupportedAddressData => "supported-address-data",
            LiveProperty::AddressbookSupportedCollationSet => "supported-collation-set",
            LiveProperty::AddressbookMaxResourceSize => "max-resource-size",
            LiveProperty::AddressbookDescription => "addressbook-description",
            LiveProperty::DirectoryGateway => "directory-gateway",
        }
    }

    pub fn name(self) -> PropName {
        PropName::new(self.namespace(), self.local_name())
    }

    pub fn from_name(name: &PropName) -> Option<LiveProperty> {
        LiveProperty::ALL.into_iter().find(|p| p.local_name() == name.name && p.namespace() == name.ns)
    }

    /// Whether PROPPATCH may change it (RFC 4918 §15: only displayname of the
    /// RFC 4918 properties is not protected).
    pub fn is_protected(self) -> bool {
        !matches!(self, LiveProperty::DisplayName | LiveProperty::AddressbookDescription)
    }

    /// Returned by `allprop` (RFC 4918 §9.1: the RFC 4918 live properties;
    /// RFC 3744, 4331 and 5397 properties only when asked for by name).
    pub fn in_allprop(self) -> bool {
        matches!(
            self,
            LiveProperty::ResourceType
                | LiveProperty::GetETag
                | LiveProperty::GetContentType
                | LiveProperty::GetContentLength
                | LiveProperty::GetLastModified
                | LiveProperty::CreationDate
                | LiveProperty::DisplayName
                | LiveProperty::LockDiscovery
                | LiveProperty::SupportedLock
        )
    }
}

/// A lock as shown in `DAV:lockdiscovery` and LOCK responses.
#[derive(Debug, Clone)]
pub struct ActiveLock {
    pub lock: Lock,
    /// href of the lock root.
    pub root_href: String,
    pub seconds_left: Option<i64>,
}

/// A property value, rendered by [`write_value`].
#[derive(Debug, Clone)]
pub enum PropValue {
    Empty,
    Text(String),
    /// An object's stored bytes as text (calendar-data, address-data),
    /// shared with the store's cache rather than copied; valid UTF-8 (the
    /// constructor, [`PropValue::stored`], checks it).
    Stored(bytes::Bytes),
    Href(String),
    Hrefs(Vec<String>),
    /// Empty elements (namespace, name), e.g. the children of `resourcetype`.
    Markers(Vec<(&'static str, &'static str)>),
    /// `DAV:privilege` elements holding DAV: privileges.
    Privileges(Vec<&'static str>),
    /// `DAV:supported-report` entries naming reports (namespace, name).
    Reports(Vec<(&'static str, &'static str)>),
    Locks(Vec<ActiveLock>),
    SupportedLock,
    /// A dead property: the whole element as stored (self-contained fragment).
    Dead(String),
    /// Elements the server generates (e.g. the `C:comp` children of
    /// `supported-calendar-component-set`).
    Elements(Vec<OutElement>),
}

impl PropValue {
    /// [`PropValue::Stored`] of `content`, `None` when it is not UTF-8.
    pub fn stored(content: &bytes::Bytes) -> Option<PropValue> {
        std::str::from_utf8(content).is_ok().then(|| PropValue::Stored(content.clone()))
    }
}

/// Write `<name>value</name>` (or the stored element for dead properties).
pub fn write_property(w: &mut XmlWriter, name: &PropName, value: &PropValue) {
    if let PropValue::Dead(fragment) = value {
        w.raw(fragment);
        return;
    }
    if matches!(value, PropValue::Empty) {
        w.empty(&name.ns, &name.name);
        return;
    }
    w.start(&name.ns, &name.name);
    write_value(w, value);
    w.end();
}

fn write_value(w: &mut XmlWriter, value: &PropValue) {
    match value {
        PropValue::Empty | PropValue::Dead(_) => {}
        PropValue::Elements(elements) => {
            for e in elements {
                w.element(e);
            }
        }
        PropValue::Text(t) => w.text(t),
        PropValue::Stored(b) => w.text(std::str::from_utf8(b).unwrap_or_default()),
        PropValue::Href(h) => w.text_element(NS_DAV, "href", h),
        PropValue::Hrefs(hs) => {
            for h in hs {
                w.text_element(NS_DAV, "href", h);
            }
        }
        PropValue::Markers(ms) => {
            for (ns, n) in ms {
                w.empty(ns, n);
            }
        }
        PropValue::Privileges(ps) => {
            for p in ps {
                w.start(NS_DAV, "privilege");
                w.empty(NS_DAV, p);
                w.end();
            }
        }
        PropValue::Reports(rs) => {
            for (ns, n) in rs {
                w.start(NS_DAV, "supported-report");
                w.start(NS_DAV, "report");
                w.empty(ns, n);
                w.end();
                w.end();
            }
        }
        PropValue::Locks(locks) => {
            for l in locks {
                write_active_lock(w, l);
            }
        }
        PropValue::SupportedLock => {
            for scope in ["exclusive", "shared"] {
                w.start(NS_DAV, "lockentry");
                w.start(NS_DAV, "lockscope");
                w.empty(NS_DAV, scope);
                w.end();
                w.start(NS_DAV, "locktype");
                w.empty(NS_DAV, "write");
                w.end();
                w.end();
            }
        }
    }
}

/// RFC 4918 §14.1 `DAV:activelock`.
pub fn write_active_lock(w: &mut XmlWriter, l: &ActiveLock) {
    use crate::store::LockScope;
    w.start(NS_DAV, "activelock");
    w.start(NS_DAV, "locktype");
    w.empty(NS_DAV, "write");
    w.end();
    w.start(NS_DAV, "lockscope");
    w.empty(NS_DAV, if l.lock.scope == LockScope::Exclusive { "exclusive" } else { "shared" });
    w.end();
    w.text_element(NS_DAV, "depth", if l.lock.infinite { "infinity" } else { "0" });
    if let Some(owner) = &l.lock.owner_xml {
        w.raw(owner);
    }
    let timeout = match l.seconds_left {
        Some(s) => format!("Second-{}", s.max(0)),
        None => "Infinite".to_string(),
    };
    w.text_element(NS_DAV, "timeout", &timeout);
    w.start(NS_DAV, "locktoken");
    w.text_element(NS_DAV, "href", &l.lock.token);
    w.end();
    w.start(NS_DAV, "lockroot");
    w.text_element(NS_DAV, "href", &l.root_href);
    w.end();
    w.end();
}
