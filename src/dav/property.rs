//! Typed properties. A property name is a namespace and a local name at the
//! XML edge; inside the server, the live properties are registered
//! [`LiveProperty`] definitions (see `registry`) and everything else is a
//! dead property stored as received.

use super::error::DavResult;
use super::registry::BoxFuture;
use super::resource::Resource;
use super::DavRequest;
use crate::store::Lock;
use crate::xml::{OutElement, XmlWriter, NS_DAV};

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

/// How a live property's value is computed for a resource: the request
/// (its user, configuration, store), the resource, and the resource's
/// store path. None: the resource does not have the property (it is then
/// reported in a 404 propstat, or read from the dead properties when it is
/// not protected).
pub enum PropertyValue {
    /// From what the request and the resource already hold.
    Now(fn(&DavRequest<'_>, &Resource, &str) -> Option<PropValue>),
    /// With reads of the store.
    Later(for<'a> fn(&'a DavRequest<'a>, &'a Resource, &'a str) -> BoxFuture<'a, DavResult<Option<PropValue>>>),
}

/// A live property (RFC 4918 §4.2): computed by the server. Each protocol
/// registers its own (`core_properties` in `live_props` for RFC 4918, RFC
/// 3744, RFC 4331, RFC 5397 and RFC 6578; CalDAV's and CardDAV's in their
/// modules); the doc comment of each definition names its RFC section.
pub struct LiveProperty {
    pub ns: &'static str,
    pub name: &'static str,
    /// Returned by `allprop` (RFC 4918 §9.1: the RFC 4918 properties only).
    pub in_allprop: bool,
    /// PROPPATCH may not change it (RFC 4918 §9.2
    /// `cannot-modify-protected-property`). An unprotected live property
    /// (`displayname`) is a dead property where the server computes none.
    pub protected: bool,
    /// A property clients may set, whose value the server supplies where
    /// none was set (RFC 6638 §9.1 `schedule-calendar-transp`: opaque):
    /// the dead property when there is one, else the computed value.
    pub dead_first: bool,
    pub value: PropertyValue,
}

impl LiveProperty {
    /// A protected property, not in `allprop`, computed without the store.
    pub const fn now(
        ns: &'static str,
        name: &'static str,
        value: fn(&DavRequest<'_>, &Resource, &str) -> Option<PropValue>,
    ) -> LiveProperty {
        LiveProperty { ns, name, in_allprop: false, protected: true, dead_first: false, value: PropertyValue::Now(value) }
    }

    /// A protected property, not in `allprop`, computed with store reads.
    pub const fn later(
        ns: &'static str,
        name: &'static str,
        value: for<'a> fn(&'a DavRequest<'a>, &'a Resource, &'a str) -> BoxFuture<'a, DavResult<Option<PropValue>>>,
    ) -> LiveProperty {
        LiveProperty { ns, name, in_allprop: false, protected: true, dead_first: false, value: PropertyValue::Later(value) }
    }

    /// This property, returned by `allprop`.
    pub const fn in_allprop(mut self) -> LiveProperty {
        self.in_allprop = true;
        self
    }

    /// This property, which PROPPATCH may set where it is dead.
    pub const fn unprotected(mut self) -> LiveProperty {
        self.protected = false;
        self
    }

    /// This property, which PROPPATCH may set, with the computed value as
    /// its default ([`LiveProperty::dead_first`]).
    pub const fn with_default(mut self) -> LiveProperty {
        self.protected = false;
        self.dead_first = true;
        self
    }

    pub fn prop_name(&self) -> PropName {
        PropName::new(self.ns, self.name)
    }

    pub fn is(&self, name: &PropName) -> bool {
        self.name == name.name && self.ns == name.ns
    }

    /// Its value on `resource` (at `store_path`), if it has one.
    pub async fn value(&self, req: &DavRequest<'_>, resource: &Resource, store_path: &str) -> DavResult<Option<PropValue>> {
        match self.value {
            PropertyValue::Now(f) => Ok(f(req, resource, store_path)),
            PropertyValue::Later(f) => f(req, resource, store_path).await,
        }
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
    /// `DAV:privilege` elements holding privileges (namespace, name).
    Privileges(Vec<crate::auth::acl::PrivilegeName>),
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
            for (ns, p) in ps {
                w.start(NS_DAV, "privilege");
                w.empty(ns, p);
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
