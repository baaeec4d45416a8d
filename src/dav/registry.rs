//! The registration point of the WebDAV core: what a protocol adds to it.
//!
//! The core (this module's parent) knows RFC 4918, RFC 3744, RFC 4331,
//! RFC 5397, RFC 5689 and RFC 6578 and nothing of CalDAV or CardDAV. A
//! protocol describes what it adds as a [`Protocol`]: its `DAV` compliance
//! classes (RFC 4918 §10.1), its home spaces with their default
//! collections, its kinds of collection ([`CollectionType`]: location and
//! member rules, writes, reports, GET, POST, `resourcetype`), its live
//! properties ([`LiveProperty`]), its extra methods (MKCALENDAR), its
//! checks of dead-property values, and its mounts ([`Mount`]: resources
//! generated rather than stored, such as the national directory).
//! `app.rs` names every protocol and builds the [`Registry`] once; the
//! handlers only ask it. The `DAV` and `Allow` headers, the
//! `supported-report-set` of every resource and the list of methods that
//! change nothing are derived from what is registered.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::collection_type::{CollectionType, MemberHook};
use super::error::{DavResult, Precondition};
use super::live_props::core_properties;
use super::mount::Mount;
use super::property::{LiveProperty, PropName};
use super::resource::{HomeSpace, Resource};
use super::response::Response;
use super::DavRequest;
use crate::store::CollectionKind;
use crate::xml::Element;

/// A boxed future, as registered handlers return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The handler of a method a protocol adds (RFC 4791 MKCALENDAR, ...).
pub type MethodHandler = for<'a> fn(&'a DavRequest<'a>) -> BoxFuture<'a, DavResult<Response>>;

/// A method a protocol adds.
#[derive(Clone, Copy)]
pub struct MethodDef {
    pub name: &'static str,
    /// Changes nothing (RFC 9110 §9.2.1): allowed where everything is
    /// read-only (mounts).
    pub safe: bool,
    /// Where it is listed in `Allow` (RFC 9110 §10.2.1).
    pub allowed_on: fn(&Resource) -> bool,
    pub handler: MethodHandler,
}

/// A check of a dead property's value where a protocol gives it a meaning
/// (RFC 4791 §5.2.2 `calendar-timezone`): on PROPPATCH and on creation.
#[derive(Clone, Copy)]
pub struct PropertyCheck {
    pub ns: &'static str,
    pub name: &'static str,
    /// Whether the value is valid.
    pub check: fn(&Element) -> bool,
    /// The precondition an invalid value breaks.
    pub precondition: Precondition,
}

/// What a principal property is searched on by `principal-property-search`
/// (RFC 3744 §9.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchField {
    /// Display names (and usernames).
    Name,
    /// Email addresses (`mailto:` stripped).
    Email,
}

/// A principal property clients may search on (RFC 3744 §9.4-9.5).
#[derive(Clone, Copy)]
pub struct PrincipalSearchProperty {
    pub ns: &'static str,
    pub name: &'static str,
    pub field: SearchField,
    /// Listed by `principal-search-property-set` (§9.5), with this
    /// description; None: accepted but not listed.
    pub description: Option<&'static str>,
}

/// A tree of per-user homes (`/files/NAME/`, `/calendars/NAME/`, ...).
#[derive(Clone)]
pub struct HomeDef {
    pub space: HomeSpace,
    /// The kind of collection the home holds directly (RFC 4791 §4.2:
    /// calendars in a calendar home); None: a plain WebDAV tree where any
    /// collection and resource may be created.
    pub holds: Option<CollectionKind>,
    /// Created with the home, so that a client finds somewhere to write on
    /// first use; other protocols may add theirs
    /// ([`Protocol::home_collections`]).
    pub default_collections: Vec<DefaultCollection>,
}

/// A collection every new home of a space gets.
#[derive(Clone)]
pub struct DefaultCollection {
    pub name: &'static str,
    pub kind: CollectionKind,
    pub member_types: &'static [&'static str],
    pub display_name: &'static str,
    /// Always there (a scheduling inbox, RFC 6638 §2.2): created in homes
    /// made before it was registered when first asked for, and never
    /// deleted, moved or replaced. A default collection that is not
    /// permanent is the owner's to delete.
    pub permanent: bool,
}

/// What one protocol adds to the core.
#[derive(Default)]
pub struct Protocol {
    /// `DAV` header compliance classes (e.g. `calendar-access`).
    pub dav_classes: Vec<&'static str>,
    pub homes: Vec<HomeDef>,
    /// Default collections added to the homes of a space another protocol
    /// registered (RFC 6638 §2: the scheduling inbox and outbox in the
    /// calendar home); that protocol must be added first.
    pub home_collections: Vec<(HomeSpace, DefaultCollection)>,
    pub collection_types: Vec<Arc<dyn CollectionType>>,
    /// Behaviour added to the members of kinds of collection (RFC 6638
    /// implicit scheduling on calendar objects).
    pub member_hooks: Vec<Arc<dyn MemberHook>>,
    pub properties: Vec<LiveProperty>,
    pub methods: Vec<MethodDef>,
    pub property_checks: Vec<PropertyCheck>,
    pub mounts: Vec<Arc<dyn Mount>>,
    pub principal_search: Vec<PrincipalSearchProperty>,
}

/// Every protocol of a server, as the core asks for them.
pub struct Registry {
    dav_classes: Vec<&'static str>,
    homes: Vec<HomeDef>,
    collection_types: Vec<Arc<dyn CollectionType>>,
    member_hooks: Vec<Arc<dyn MemberHook>>,
    properties: Vec<LiveProperty>,
    methods: Vec<MethodDef>,
    property_checks: Vec<PropertyCheck>,
    mounts: Vec<Arc<dyn Mount>>,
    principal_search: Vec<PrincipalSearchProperty>,
}

/// The principal properties the core searches on (RFC 3744 §9.4).
const CORE_PRINCIPAL_SEARCH: [PrincipalSearchProperty; 2] = [
    PrincipalSearchProperty { ns: crate::xml::NS_DAV, name: "displayname", field: SearchField::Name, description: Some("Name") },
    // RFC 3744 §4.1.
    PrincipalSearchProperty { ns: crate::xml::NS_DAV, name: "alternate-URI-set", field: SearchField::Email, description: None },
];

/// The `DAV` compliance classes of the core (RFC 4918 §18: 1, 2 and 3),
/// listed first, then the protocols' classes, then the core's extensions
/// (RFC 5689 extended MKCOL). `access-control` (RFC 3744) is not
/// advertised: the ACL method is not implemented.
const CORE_DAV_CLASSES: [&str; 3] = ["1", "2", "3"];
const CORE_DAV_EXTENSIONS: [&str; 1] = ["extended-mkcol"];

/// Methods of the core that change nothing.
const CORE_SAFE_METHODS: [&str; 5] = ["OPTIONS", "GET", "HEAD", "PROPFIND", "REPORT"];

impl Registry {
    /// The core alone, with its `/files/` homes; protocols are added with
    /// [`Registry::with`].
    pub fn new() -> Registry {
        Registry {
            dav_classes: Vec::new(),
            homes: vec![HomeDef { space: HomeSpace::FILES, holds: None, default_collections: Vec::new() }],
            collection_types: Vec::new(),
            member_hooks: Vec::new(),
            properties: core_properties(),
            methods: Vec::new(),
            property_checks: Vec::new(),
            mounts: Vec::new(),
            principal_search: CORE_PRINCIPAL_SEARCH.to_vec(),
        }
    }

    /// This registry with `protocol` added.
    pub fn with(mut self, protocol: Protocol) -> Registry {
        self.dav_classes.extend(protocol.dav_classes);
        // One meaning per path segment, kind and property name.
        for home in &protocol.homes {
            let segment = home.space.segment();
            assert!(segment != "principals" && self.home(segment).is_none(), "the home space /{segment}/ is registered twice");
        }
        self.homes.extend(protocol.homes);
        for (space, collection) in protocol.home_collections {
            let home = self.homes.iter_mut().find(|h| h.space == space);
            let home = home.unwrap_or_else(|| panic!("no home space /{}/ to add {} to", space.segment(), collection.name));
            assert!(home.default_collections.iter().all(|c| c.name != collection.name), "{} is registered twice", collection.name);
            home.default_collections.push(collection);
        }
        for t in &protocol.collection_types {
            assert!(self.collection_type(t.kind()).is_none(), "the collection kind {:?} is registered twice", t.kind());
        }
        self.collection_types.extend(protocol.collection_types);
        self.member_hooks.extend(protocol.member_hooks);
        for p in &protocol.properties {
            assert!(self.property(&p.prop_name()).is_none(), "the property {{{}}}{} is registered twice", p.ns, p.name);
        }
        self.properties.extend(protocol.properties);
        self.methods.extend(protocol.methods);
        self.property_checks.extend(protocol.property_checks);
        for mount in &protocol.mounts {
            assert!(
                mount.segment() != "principals" && self.home(mount.segment()).is_none() && self.mount(mount.segment()).is_none(),
                "the mount /{}/ collides with a registered path",
                mount.segment()
            );
        }
        self.mounts.extend(protocol.mounts);
        self.principal_search.extend(protocol.principal_search);
        self
    }

    /// The `DAV` header (RFC 4918 §10.1).
    pub fn dav_header(&self) -> String {
        let classes = CORE_DAV_CLASSES.iter().chain(&self.dav_classes).chain(CORE_DAV_EXTENSIONS.iter());
        classes.copied().collect::<Vec<_>>().join(", ")
    }

    /// The home spaces, in registration order (`/files/` first).
    pub fn homes(&self) -> &[HomeDef] {
        &self.homes
    }

    /// The home space whose segment is `segment`.
    pub fn home(&self, segment: &str) -> Option<&HomeDef> {
        self.homes.iter().find(|h| h.space.segment() == segment)
    }

    /// The definition of `space`.
    pub fn home_of(&self, space: HomeSpace) -> Option<&HomeDef> {
        self.homes.iter().find(|h| h.space == space)
    }

    /// The permanent default collection `name` of homes of `space`
    /// ([`DefaultCollection::permanent`]), if there is one.
    pub fn permanent_collection(&self, space: HomeSpace, name: &str) -> Option<&DefaultCollection> {
        self.home_of(space)?.default_collections.iter().find(|c| c.permanent && c.name == name)
    }

    /// The type of collections of `kind`; None for plain collections.
    pub fn collection_type(&self, kind: CollectionKind) -> Option<&dyn CollectionType> {
        self.collection_types.iter().find(|t| t.kind() == kind).map(|t| t.as_ref())
    }

    /// The type of collections of `kind`, to move into a compute job.
    pub fn collection_type_arc(&self, kind: CollectionKind) -> Option<Arc<dyn CollectionType>> {
        self.collection_types.iter().find(|t| t.kind() == kind).cloned()
    }

    /// The hooks on members of collections of `kind`, in registration
    /// order.
    pub fn member_hooks(&self, kind: CollectionKind) -> impl Iterator<Item = &dyn MemberHook> {
        self.member_hooks.iter().filter(move |h| h.kind() == kind).map(|h| h.as_ref())
    }

    /// Every registered collection type.
    pub fn collection_types(&self) -> impl Iterator<Item = &dyn CollectionType> {
        self.collection_types.iter().map(|t| t.as_ref())
    }

    /// The type whose `resourcetype` marker is `{ns}name` (RFC 5689 §5.1:
    /// an extended MKCOL names the type it wants so).
    pub fn collection_type_marked(&self, ns: &str, name: &str) -> Option<&dyn CollectionType> {
        self.collection_types().find(|t| t.resourcetype().iter().any(|(n, l)| *n == ns && *l == name))
    }

    /// The live property named `name`, if one is registered. A linear
    /// search: it runs once per property name and request (see
    /// `propfind::PropfindPlan`), never per member.
    pub fn property(&self, name: &PropName) -> Option<&LiveProperty> {
        self.properties.iter().find(|p| p.name == name.name && p.ns == name.ns)
    }

    /// Every live property, in registration order.
    pub fn properties(&self) -> &[LiveProperty] {
        &self.properties
    }

    /// The method `name` a protocol added.
    pub fn method(&self, name: &str) -> Option<&MethodDef> {
        self.methods.iter().find(|m| m.name == name)
    }

    /// Whether `method` changes nothing (allowed on read-only mounts).
    pub fn is_safe(&self, method: &str) -> bool {
        CORE_SAFE_METHODS.contains(&method) || self.method(method).is_some_and(|m| m.safe)
    }

    /// The check a protocol gives the dead property `{ns}name`, if any.
    pub fn property_check(&self, ns: &str, name: &str) -> Option<&PropertyCheck> {
        self.property_checks.iter().find(|c| c.ns == ns && c.name == name)
    }

    /// The principal properties clients may search on.
    pub fn principal_search(&self) -> &[PrincipalSearchProperty] {
        &self.principal_search
    }

    /// The mount serving the first path segment `segment`.
    pub fn mount(&self, segment: &str) -> Option<&dyn Mount> {
        self.mounts.iter().find(|m| m.segment() == segment).map(|m| m.as_ref())
    }

    /// The methods allowed on `resource` (RFC 9110 §10.2.1 `Allow`): the
    /// core's for its kind, then those protocols add.
    pub fn allowed_methods(&self, resource: &Resource) -> String {
        let core = match resource {
            Resource::Unmapped { .. } => "OPTIONS, PUT, MKCOL, LOCK, UNLOCK",
            Resource::Object { .. } => "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, COPY, MOVE, LOCK, UNLOCK, REPORT",
            Resource::Collection { .. } => {
                "OPTIONS, GET, HEAD, DELETE, PROPFIND, PROPPATCH, COPY, MOVE, MKCOL, LOCK, UNLOCK, REPORT"
            }
            _ => "OPTIONS, GET, HEAD, PROPFIND, REPORT",
        };
        let mut allow = core.to_string();
        if let Resource::Collection { collection, .. } = resource {
            if self.collection_type(collection.kind).is_some_and(|t| t.handles_post()) {
                allow.push_str(", POST");
            }
        }
        for m in self.methods.iter().filter(|m| (m.allowed_on)(resource)) {
            allow.push_str(", ");
            allow.push_str(m.name);
        }
        allow
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}
