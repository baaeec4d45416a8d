//! Authorisation: the one place that decides what a principal may do with a
//! resource, in RFC 3744 privilege terms. `DAV:current-user-privilege-set`
//! (RFC 3744 §5.4) is reported from the same answer, so what a client is told
//! is exactly what the server enforces.
//!
//! Today a principal reaches what it owns; principal records are readable by
//! their owner and by principals of the same académie; nothing crosses an
//! académie boundary. Sharing and delegation extend [`privileges`].

use crate::store::{Principal, PrincipalId};
use crate::xml::{NS_CALDAV, NS_DAV};

/// A set of RFC 3744 §3 privileges, with the scheduling privileges of RFC
/// 6638 §6 (meaningful only on scheduling inboxes and outboxes).
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
    /// RFC 6638 §6.1.2: deliver messages from an organizer.
    pub const SCHEDULE_DELIVER_INVITE: Privileges = Privileges(1 << 9);
    /// RFC 6638 §6.1.3: deliver messages from an attendee.
    pub const SCHEDULE_DELIVER_REPLY: Privileges = Privileges(1 << 10);
    /// RFC 6638 §6.1.4: ask the inbox's owner for free/busy time.
    pub const SCHEDULE_QUERY_FREEBUSY: Privileges = Privileges(1 << 11);
    /// RFC 6638 §6.2.2: send as organizer on the outbox owner's behalf.
    pub const SCHEDULE_SEND_INVITE: Privileges = Privileges(1 << 12);
    /// RFC 6638 §6.2.3: send as attendee on the outbox owner's behalf.
    pub const SCHEDULE_SEND_REPLY: Privileges = Privileges(1 << 13);
    /// RFC 6638 §6.2.4: POST free/busy requests to the outbox.
    pub const SCHEDULE_SEND_FREEBUSY: Privileges = Privileges(1 << 14);
    /// RFC 6638 §6.1.1 aggregate.
    pub const SCHEDULE_DELIVER: Privileges = Privileges((1 << 9) | (1 << 10) | (1 << 11));
    /// RFC 6638 §6.2.1 aggregate.
    pub const SCHEDULE_SEND: Privileges = Privileges((1 << 12) | (1 << 13) | (1 << 14));
    /// `DAV:all` (RFC 3744 §3.12) contains every privilege, the scheduling
    /// aggregates included (RFC 6638 §6.3).
    pub const ALL: Privileges = Privileges(0x7fff);

    pub fn contains(self, other: Privileges) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any privilege of `other` is held.
    pub fn intersects(self, other: Privileges) -> bool {
        self.0 & other.0 != 0
    }

    pub fn union(self, other: Privileges) -> Privileges {
        Privileges(self.0 | other.0)
    }

    /// These privileges without those of `other`.
    pub fn without(self, other: Privileges) -> Privileges {
        Privileges(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names (namespace, local name) `current-user-privilege-set`
    /// reports (RFC 3744 §5.4), an aggregate named when fully held.
    pub fn names(self) -> Vec<PrivilegeName> {
        if self == Self::ALL {
            return vec![(NS_DAV, "all")];
        }
        let mut out = Vec::new();
        names_in(&SUPPORTED_PRIVILEGES.contains, self, &mut out);
        for extra in [&SCHEDULE_DELIVER_PRIVILEGES, &SCHEDULE_SEND_PRIVILEGES] {
            names_in(std::slice::from_ref(extra), self, &mut out);
        }
        out
    }
}

/// A privilege's element name: (namespace, local name).
pub type PrivilegeName = (&'static str, &'static str);

/// An entry of `DAV:supported-privilege-set` (RFC 3744 §5.3): a privilege,
/// whether it is abstract, and the privileges it aggregates.
#[derive(Debug)]
pub struct SupportedPrivilege {
    pub name: PrivilegeName,
    pub privileges: Privileges,
    pub description: &'static str,
    pub contains: &'static [SupportedPrivilege],
}

const fn leaf(ns: &'static str, name: &'static str, privileges: Privileges, description: &'static str) -> SupportedPrivilege {
    SupportedPrivilege { name: (ns, name), privileges, description, contains: &[] }
}

/// The privileges of every resource (RFC 3744 §3), rooted at `DAV:all`.
pub const SUPPORTED_PRIVILEGES: SupportedPrivilege = SupportedPrivilege {
    name: (NS_DAV, "all"),
    privileges: Privileges::ALL,
    description: "Tous les droits",
    contains: &[
        leaf(NS_DAV, "read", Privileges::READ, "Lire"),
        SupportedPrivilege {
            name: (NS_DAV, "write"),
            privileges: Privileges::WRITE,
            description: "Modifier",
            contains: &[
                leaf(NS_DAV, "write-properties", Privileges::WRITE_PROPERTIES, "Modifier les propriétés"),
                leaf(NS_DAV, "write-content", Privileges::WRITE_CONTENT, "Modifier le contenu"),
                leaf(NS_DAV, "bind", Privileges::BIND, "Ajouter un élément"),
                leaf(NS_DAV, "unbind", Privileges::UNBIND, "Retirer un élément"),
            ],
        },
        leaf(NS_DAV, "unlock", Privileges::UNLOCK, "Déverrouiller"),
        leaf(NS_DAV, "read-acl", Privileges::READ_ACL, "Lire les droits"),
        leaf(
            NS_DAV,
            "read-current-user-privilege-set",
            Privileges::READ_CURRENT_USER_PRIVILEGE_SET,
            "Lire ses propres droits",
        ),
        leaf(NS_DAV, "write-acl", Privileges::WRITE_ACL, "Modifier les droits"),
    ],
};

/// RFC 6638 §6.1: the privileges of a scheduling inbox, under `DAV:all`.
pub const SCHEDULE_DELIVER_PRIVILEGES: SupportedPrivilege = SupportedPrivilege {
    name: (NS_CALDAV, "schedule-deliver"),
    privileges: Privileges::SCHEDULE_DELIVER,
    description: "Recevoir des messages de planification",
    contains: &[
        leaf(NS_CALDAV, "schedule-deliver-invite", Privileges::SCHEDULE_DELIVER_INVITE, "Recevoir des invitations"),
        leaf(NS_CALDAV, "schedule-deliver-reply", Privileges::SCHEDULE_DELIVER_REPLY, "Recevoir des réponses"),
        leaf(NS_CALDAV, "schedule-query-freebusy", Privileges::SCHEDULE_QUERY_FREEBUSY, "Consulter les disponibilités"),
    ],
};

/// RFC 6638 §6.2: the privileges of a scheduling outbox, under `DAV:all`.
pub const SCHEDULE_SEND_PRIVILEGES: SupportedPrivilege = SupportedPrivilege {
    name: (NS_CALDAV, "schedule-send"),
    privileges: Privileges::SCHEDULE_SEND,
    description: "Envoyer des messages de planification",
    contains: &[
        leaf(NS_CALDAV, "schedule-send-invite", Privileges::SCHEDULE_SEND_INVITE, "Envoyer des invitations"),
        leaf(NS_CALDAV, "schedule-send-reply", Privileges::SCHEDULE_SEND_REPLY, "Envoyer des réponses"),
        leaf(NS_CALDAV, "schedule-send-freebusy", Privileges::SCHEDULE_SEND_FREEBUSY, "Demander des disponibilités"),
    ],
};

/// The names of the largest entries of `tree` fully held in `held`.
fn names_in(tree: &'static [SupportedPrivilege], held: Privileges, out: &mut Vec<PrivilegeName>) {
    for entry in tree {
        if held.contains(entry.privileges) {
            out.push(entry.name);
        } else if held.intersects(entry.privileges) {
            names_in(entry.contains, held, out);
        }
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

/// What `sender` may have delivered to `recipient`'s scheduling inbox (RFC
/// 6638 §6.1, §11.2 item 3): every active account of the platform may
/// invite any other and reply to it, whatever their académies, and may
/// ask for its busy time (not the details of its events) unless the
/// recipient's académie is one of `private_freebusy` — then only its own
/// agents may. The owner holds every privilege on its inbox.
pub fn inbox_privileges(sender: &Principal, recipient: &Principal, private_freebusy: &[String]) -> Privileges {
    if sender.id == recipient.id {
        return Privileges::ALL;
    }
    if sender.disabled || recipient.disabled {
        return Privileges::NONE;
    }
    let deliver = Privileges::SCHEDULE_DELIVER_INVITE.union(Privileges::SCHEDULE_DELIVER_REPLY);
    let private = recipient.academie.as_ref().is_some_and(|a| private_freebusy.contains(a));
    if private && !same_academie(sender, recipient) {
        deliver
    } else {
        deliver.union(Privileges::SCHEDULE_QUERY_FREEBUSY)
    }
}

/// Whether `user` sees the platform's counts on the account page (accounts
/// per académie, storage used): administrators only, and nothing about
/// any one other account.
pub fn may_see_platform_counts(user: &Principal) -> bool {
    user.is_admin && !user.disabled
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
    fn every_agent_schedules_with_every_other_free_busy_as_academies_allow() {
        let (a, b, c) = (user(1, "lyon"), user(2, "lyon"), user(3, "creteil"));
        let open: &[String] = &[];
        let both = Privileges::SCHEDULE_DELIVER;
        assert_eq!(inbox_privileges(&c, &a, open), both);
        assert_eq!(inbox_privileges(&a, &a, open), Privileges::ALL);
        let private = &["lyon".to_string()];
        assert_eq!(inbox_privileges(&b, &a, private), both);
        let without_freebusy = inbox_privileges(&c, &a, private);
        assert!(without_freebusy.contains(Privileges::SCHEDULE_DELIVER_INVITE));
        assert!(!without_freebusy.contains(Privileges::SCHEDULE_QUERY_FREEBUSY));
        assert_eq!(inbox_privileges(&a, &c, private), both);
        let gone = Principal { disabled: true, ..a.clone() };
        assert!(inbox_privileges(&c, &gone, open).is_empty());
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
        assert_eq!(Privileges::ALL.names(), vec![(NS_DAV, "all")]);
        assert_eq!(Privileges::READ.names(), vec![(NS_DAV, "read")]);
        let read_write = Privileges::READ.union(Privileges::WRITE).union(Privileges::WRITE_ACL);
        assert_eq!(read_write.names(), vec![(NS_DAV, "read"), (NS_DAV, "write"), (NS_DAV, "write-acl")]);
        let some = Privileges::READ.union(Privileges::BIND).union(Privileges::SCHEDULE_DELIVER).union(Privileges::SCHEDULE_SEND_REPLY);
        assert_eq!(
            some.names(),
            vec![(NS_DAV, "read"), (NS_DAV, "bind"), (NS_CALDAV, "schedule-deliver"), (NS_CALDAV, "schedule-send-reply")]
        );
    }
}
