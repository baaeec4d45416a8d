//! Authorisation: the one place that decides what a principal may do with a
//! resource, in RFC 3744 privilege terms. `DAV:current-user-privilege-set`
//! (RFC 3744 §5.4) is reported from the same answer, so what a client is told
//! is exactly what the server enforces.
//!
//! Today a principal reaches what it owns; principal records are readable by
//! their owner and by principals of the same académie; nothing crosses an
//! académie boundary. Sharing and delegation extend [`privileges`].

use crate::store::{Principal, PrincipalId};

/// A set of RFC 3744 §3 privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Privileges(u16);

impl Privileges {
    pub const NONE: Privileges = Privileges(0);
    pub const READ: Privileges = Privileges(1);
    pub const WRITE_PROPERTIES: Privileges = Privileges(1 << 1);
    pub const WRITE_CONTENT: Privileges = Privileges(1 << 2);
    pub const UNLOCK: Privileges = Privileges(1 << 3);
    pub const READ_ACL: Privileges = Privileges(1 << 4);
    pub const READ_CURRENT_USER_PRIVILEGE_SET: Privileges = Privileges(1 << 5);
    pub const WRITE_ACL: Privileges = Privileges(1 << 6);
    pub const BIND: Privileges = Privileges(1 << 7);
    pub const UNBIND: Privileges = Privileges(1 << 8);
    /// `DAV:write` aggregates these four (RFC 3744 §3.2).
    pub const WRITE: Privileges = Privileges((1 << 1) | (1 << 2) | (1 << 7) | (1 << 8));
    pub const ALL: Privileges = Privileges(0x1ff);

    pub fn contains(self, other: Privileges) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: Privileges) -> Privileges {
        Privileges(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Local names (DAV: namespace) for `current-user-privilege-set`, using the
    /// aggregates `all` and `write` when fully held.
    pub fn names(self) -> Vec<&'static str> {
        if self == Self::ALL {
            return vec!["all"];
        }
        let mut out = Vec::new();
        let table: &[(Privileges, &str)] = &[
            (Self::READ, "read"),
            (Self::READ_ACL, "read-acl"),
            (Self::READ_CURRENT_USER_PRIVILEGE_SET, "read-current-user-privilege-set"),
            (Self::WRITE_ACL, "write-acl"),
            (Self::UNLOCK, "unlock"),
        ];
        if self.contains(Self::WRITE) {
            out.push("write");
        }
        for (p, name) in table {
            if self.contains(*p) {
                out.push(name);
            }
        }
        if !self.contains(Self::WRITE) {
            for (p, name) in [
                (Self::WRITE_PROPERTIES, "write-properties"),
                (Self::WRITE_CONTENT, "write-content"),
                (Self::BIND, "bind"),
                (Self::UNBIND, "unbind"),
            ] {
                if self.contains(p) {
                    out.push(name);
                }
            }
        }
        out
    }
}

/// What an access decision is about.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A server-wide node with no owner: `/`, `/principals/`, `/files/`, …
    ServerNode,
    /// A principal resource (`/principals/NAME/`).
    PrincipalRecord(&'a Principal),
    /// A collection or object owned by this principal.
    OwnedBy(PrincipalId),
    /// A generated resource (a mount's, e.g. the national directory and its
    /// cards): readable by every account, written by no one.
    Generated,
}

/// The privileges `user` holds on `target`.
pub fn privileges(user: &Principal, target: Target<'_>) -> Privileges {
    let read = Privileges::READ.union(Privileges::READ_CURRENT_USER_PRIVILEGE_SET);
    match target {
        Target::ServerNode | Target::Generated => read,
        Target::PrincipalRecord(p) if p.id == user.id => read.union(Privileges::READ_ACL),
        // A disabled account is gone for everyone else, as from the
        // directory and from searches.
        Target::PrincipalRecord(p) if p.disabled => Privileges::NONE,
        Target::PrincipalRecord(p) if same_academie(p, user) => read,
        Target::PrincipalRecord(_) => Privileges::NONE,
        Target::OwnedBy(owner) if owner == user.id => Privileges::ALL,
        Target::OwnedBy(_) => Privileges::NONE,
    }
}

fn same_academie(a: &Principal, b: &Principal) -> bool {
    matches!((&a.academie, &b.academie), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PrincipalKind;

    fn user(id: i64, academie: &str) -> Principal {
        Principal {
            id,
            username: format!("u{id}"),
            kind: PrincipalKind::User,
            display_name: None,
            academie: Some(academie.into()),
            password_hash: None,
            disabled: false,
            is_admin: false,
            quota_bytes: None,
            created_at: 0,
        }
    }

    #[test]
    fn owner_has_all_others_nothing() {
        let (a, b, c) = (user(1, "lyon"), user(2, "lyon"), user(3, "creteil"));
        assert_eq!(privileges(&a, Target::OwnedBy(1)), Privileges::ALL);
        assert!(privileges(&b, Target::OwnedBy(1)).is_empty());
        assert!(privileges(&b, Target::PrincipalRecord(&a)).contains(Privileges::READ));
        assert!(privileges(&c, Target::PrincipalRecord(&a)).is_empty());
        let gone = Principal { disabled: true, ..a.clone() };
        assert!(privileges(&b, Target::PrincipalRecord(&gone)).is_empty());
        assert_eq!(Privileges::ALL.names(), vec!["all"]);
        assert_eq!(Privileges::READ.names(), vec!["read"]);
    }
}
