//! The national directory: searches on the folded index (RFC 5051
//! i;unicode-casemap, RFC 4790 §4.2 match types) and the bulk import (`DirectoryStore`).

use almanach::collation::{fold, Collation};

use super::*;

fn term(field: DirectoryField, kind: DirectoryMatch, needle: &str) -> DirectoryTerm {
    DirectoryTerm { field, kind, needle: fold(Collation::UnicodeCasemap, needle).into_owned() }
}

/// The card's FN.
fn fname(kind: DirectoryMatch, needle: &str) -> DirectoryTerm {
    term(DirectoryField::FullName, kind, needle)
}

/// The card's N, as text (`family;given;;;`).
fn sname(kind: DirectoryMatch, needle: &str) -> DirectoryTerm {
    term(DirectoryField::StructuredName, kind, needle)
}

fn user(kind: DirectoryMatch, needle: &str) -> DirectoryTerm {
    term(DirectoryField::Username, kind, needle)
}

fn email(kind: DirectoryMatch, needle: &str) -> DirectoryTerm {
    term(DirectoryField::Email, kind, needle)
}

/// Usernames found by `terms` (allof), limit 100.
async fn find(store: &SharedStore, terms: Vec<DirectoryTerm>) -> Vec<String> {
    search(store, terms, true, 100).await
}

async fn search(store: &SharedStore, terms: Vec<DirectoryTerm>, match_all: bool, limit: usize) -> Vec<String> {
    answer(store, terms, match_all, limit, &|_| true).await.entries.into_iter().map(|e| e.username).collect()
}

async fn answer(
    store: &SharedStore,
    terms: Vec<DirectoryTerm>,
    match_all: bool,
    limit: usize,
    accept: &EntryCheck<'_>,
) -> DirectoryAnswer {
    let clauses = if match_all { terms.into_iter().map(|t| vec![t]).collect() } else { vec![terms] };
    store.directory_search(&DirectorySearch { clauses, limit }, accept).await.unwrap()
}

async fn person(store: &SharedStore, username: &str, given: &str, family: &str, display: Option<&str>, emails: &[&str]) -> Principal {
    store
        .create_principal(NewPrincipal {
            username: username.into(),
            display_name: display.map(Into::into),
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            emails: emails.iter().map(|e| e.to_string()).collect(),
            academie: Some("lyon".into()),
            title: Some("Professeure des écoles".into()),
            phone: Some("+33 4 00 00 00 00".into()),
            ..Default::default()
        })
        .await
        .unwrap()
}

pub async fn directory_search(store: SharedStore) {
    use DirectoryMatch::*;
    store.create_academie("lyon", "Académie de Lyon", None).await.unwrap();
    person(&store, "emartin", "Élodie", "Martin", Some("Élodie Martin"), &["Elodie.Martin@ac-lyon.fr"]).await;
    person(&store, "edupont", "Emile", "Dupont", None, &["emile.dupont@ac-lyon.fr", "e.dupont@education.gouv.fr"]).await;
    let martine = person(&store, "mleroy", "Martine", "Leroy", None, &[]).await;
    person(&store, "jstrauss", "Johann", "Strauß", None, &[]).await;
    let marc = person(&store, "mmartin", "Marc", "Martin", None, &["marc@ac-lyon.fr"]).await;
    store.set_disabled(marc.id, true).await.unwrap();
    store
        .create_principal(NewPrincipal {
            username: "salle-martin".into(),
            kind: Some(PrincipalKind::Room),
            display_name: Some("Salle Martin".into()),
            ..Default::default()
        })
        .await
        .unwrap();

    // Case-insensitive, accents per i;unicode-casemap: É and é are equal,
    // é and e are not (RFC 5051 decomposes é into e + U+0301).
    assert_eq!(find(&store, vec![fname(Equals, "ÉLODIE MARTIN")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![fname(Equals, "elodie martin")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![sname(Equals, "martin;élodie;;;")]).await, ["emartin"]);
    // ...but e is a prefix of the decomposed é.
    assert_eq!(find(&store, vec![fname(Prefix, "E")]).await, ["edupont", "emartin"]);
    assert_eq!(find(&store, vec![sname(Prefix, "STRAUSS;")]).await, ["jstrauss"]);
    // FN is "given family" without a display name; the username is a field
    // of its own.
    assert_eq!(find(&store, vec![fname(Equals, "emile dupont")]).await, ["edupont"]);
    assert_eq!(find(&store, vec![user(Equals, "MLEROY")]).await, ["mleroy"]);
    // A component alone is not the value (RFC 6352 §10.5.4: a structured
    // value is matched as a whole).
    assert_eq!(find(&store, vec![sname(Equals, "martin")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![fname(Equals, "martin")]).await, Vec::<String>::new());

    // Match types; disabled accounts and non-user principals never appear.
    assert_eq!(find(&store, vec![fname(Substring, "MART")]).await, ["emartin", "mleroy"]);
    assert_eq!(find(&store, vec![sname(Prefix, "mart")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![fname(Prefix, "mart")]).await, ["mleroy"]);
    assert_eq!(find(&store, vec![sname(Substring, "mart")]).await, ["emartin", "mleroy"]);
    assert_eq!(find(&store, vec![fname(Substring, "lodie")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![fname(Prefix, "lodie")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![fname(Suffix, "roy")]).await, ["mleroy"]);
    assert_eq!(find(&store, vec![fname(Suffix, "mart")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![sname(Suffix, "TINE;;;")]).await, ["mleroy"]);
    // The needle is folded: ß is "ss".
    assert_eq!(find(&store, vec![fname(Substring, "ß")]).await, ["jstrauss"]);
    assert_eq!(find(&store, vec![fname(Substring, "uß")]).await, ["jstrauss"]);
    assert_eq!(find(&store, vec![fname(Substring, "auss")]).await, ["jstrauss"]);
    // Across words and components.
    assert_eq!(find(&store, vec![fname(Substring, "DIE MAR")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![fname(Substring, "ie m")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![fname(Substring, "e l")]).await, ["mleroy"]);
    assert_eq!(find(&store, vec![fname(Substring, "ne ")]).await, ["mleroy"]);
    assert_eq!(find(&store, vec![fname(Substring, " le")]).await, ["mleroy"]);
    assert_eq!(find(&store, vec![fname(Substring, "ie ")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![fname(Substring, "   ")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![sname(Substring, "roy;mar")]).await, ["mleroy"]);
    assert_eq!(find(&store, vec![sname(Substring, "tin;é")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![sname(Substring, "tin;e")]).await, ["emartin"], "e is a prefix of é decomposed");
    assert_eq!(find(&store, vec![sname(Substring, "tin;j")]).await, Vec::<String>::new());
    assert_eq!(search(&store, vec![sname(Substring, ";;")], true, 100).await.len(), 4, "every N holds ;;");
    assert_eq!(find(&store, vec![email(Substring, "in@")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![email(Substring, "n@a")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![email(Substring, "e.du")]).await, ["edupont"]);
    assert_eq!(find(&store, vec![email(Substring, "on.f")]).await, ["edupont", "emartin"]);
    assert_eq!(find(&store, vec![fname(Substring, "ie.mar")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![email(Substring, "ie.mar")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![user(Substring, "m.p")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![fname(Suffix, "ine leroy")]).await, ["mleroy"]);
    // Longer than the indexed rows (12 characters): a window, then checked.
    assert_eq!(find(&store, vec![email(Substring, "martin@ac-lyon.f")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![email(Substring, "dupont@education.gouv")]).await, ["edupont"]);
    assert_eq!(find(&store, vec![email(Substring, "dupont@education.gouw")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![email(Suffix, ".martin@ac-lyon.fr")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![email(Suffix, ".martin@ac-lyon.f")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![fname(Suffix, "ine")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![fname(Substring, "ine")]).await, ["mleroy"]);
    assert_eq!(find(&store, vec![fname(Substring, "roy")]).await, ["mleroy"]);
    // Short needles are answered completely, wherever they occur.
    assert_eq!(find(&store, vec![fname(Substring, "ma")]).await, ["emartin", "mleroy"]);
    assert_eq!(find(&store, vec![fname(Substring, "ar")]).await, ["emartin", "mleroy"]);
    assert_eq!(find(&store, vec![fname(Substring, "y")]).await, ["mleroy"]);
    assert_eq!(find(&store, vec![fname(Suffix, "rc")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![fname(Suffix, "in")]).await, ["emartin"]);
    // "n." is in the domains ac-lyon.fr and education.gouv.fr.
    assert_eq!(find(&store, vec![email(Substring, "n.")]).await, ["edupont", "emartin"]);
    assert_eq!(find(&store, vec![email(Substring, "t@")]).await, ["edupont"]);
    // Wildcard characters of LIKE and GLOB are plain characters.
    assert_eq!(find(&store, vec![fname(Substring, "m%n")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![fname(Substring, "m*n")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![fname(Substring, "_ar")]).await, Vec::<String>::new());

    // Email addresses, and their domains.
    assert_eq!(find(&store, vec![email(Equals, "ELODIE.MARTIN@AC-LYON.FR")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![email(Prefix, "e.dup")]).await, ["edupont"]);
    assert_eq!(find(&store, vec![email(Substring, "@AC-LYON")]).await, ["edupont", "emartin"]);
    assert_eq!(find(&store, vec![email(Substring, "lyon")]).await, ["edupont", "emartin"]);
    assert_eq!(find(&store, vec![email(Substring, "c-l")]).await, ["edupont", "emartin"]);
    assert_eq!(find(&store, vec![email(Suffix, "gouv.fr")]).await, ["edupont"]);
    assert_eq!(find(&store, vec![email(Suffix, "gouv")]).await, Vec::<String>::new());
    assert_eq!(find(&store, vec![email(Substring, "martin")]).await, ["emartin"]);

    // allof and anyof.
    assert_eq!(find(&store, vec![fname(Prefix, "él"), email(Substring, "lyon")]).await, ["emartin"]);
    assert_eq!(
        search(&store, vec![fname(Equals, "martine leroy"), email(Prefix, "emile")], false, 100).await,
        ["edupont", "mleroy"]
    );
    assert!(find(&store, vec![fname(Equals, "martine leroy"), email(Prefix, "emile")]).await.is_empty());
    let both = vec![vec![fname(Substring, "e"), user(Substring, "e")], vec![email(Substring, "gouv")]];
    let found = store.directory_search(&DirectorySearch { clauses: both, limit: 10 }, &|_| true).await.unwrap();
    assert_eq!(found.entries.iter().map(|e| e.username.as_str()).collect::<Vec<_>>(), ["edupont"]);

    // Writes keep the index up to date.
    store.add_principal_email(martine.id, "Martine.Leroy@ac-lyon.fr", false).await.unwrap();
    assert_eq!(find(&store, vec![email(Prefix, "martine.")]).await, ["mleroy"]);
    assert_eq!(find(&store, vec![email(Substring, "e.le")]).await, ["mleroy"]);
    store.set_disabled(marc.id, false).await.unwrap();
    assert_eq!(find(&store, vec![sname(Prefix, "martin;")]).await, ["emartin", "mmartin"]);
    assert_eq!(find(&store, vec![email(Equals, "marc@ac-lyon.fr")]).await, ["mmartin"]);
    store.set_disabled(marc.id, true).await.unwrap();
    assert_eq!(find(&store, vec![sname(Prefix, "martin;")]).await, ["emartin"]);

    // The entry.
    let e = store.directory_entry("edupont").await.unwrap().unwrap();
    assert_eq!(e.display_name, None);
    assert_eq!((e.given_name.as_deref(), e.family_name.as_deref()), (Some("Emile"), Some("Dupont")));
    assert_eq!(e.emails, ["emile.dupont@ac-lyon.fr", "e.dupont@education.gouv.fr"]);
    assert_eq!(e.academie, Some(("lyon".to_string(), "Académie de Lyon".to_string())));
    assert_eq!(e.title.as_deref(), Some("Professeure des écoles"));
    assert_eq!(e.phone.as_deref(), Some("+33 4 00 00 00 00"));
    assert!(e.modified_at > 0);
    assert_eq!(store.directory_entry("mmartin").await.unwrap(), None, "disabled");
    assert_eq!(store.directory_entry("salle-martin").await.unwrap(), None, "not a user");
    assert_eq!(store.directory_entry("nobody").await.unwrap(), None);
    // A new primary address comes first.
    store.add_principal_email(e.principal, "emile@ac-lyon.fr", true).await.unwrap();
    let e2 = store.directory_entry("edupont").await.unwrap().unwrap();
    assert_eq!(e2.emails[0], "emile@ac-lyon.fr");
    assert!(e2.modified_at >= e.modified_at);

    // Limits: at most `limit`, ordered by username, every one a match, and
    // `more` exactly when more match.
    for i in 0..30 {
        person(&store, &format!("durand{i:02}"), "Jean", "Durand", None, &[]).await;
    }
    let some = search(&store, vec![sname(Prefix, "durand")], true, 10).await;
    assert_eq!(some.len(), 10);
    assert!(some.windows(2).all(|w| w[0] < w[1]), "{some:?}");
    assert!(some.iter().all(|u| u.starts_with("durand")));
    assert_eq!(search(&store, vec![fname(Substring, "URAN")], true, 100).await.len(), 30);
    assert_eq!(search(&store, vec![fname(Substring, "URAN")], true, 7).await.len(), 7);
    assert_eq!(search(&store, vec![fname(Equals, "jean durand"), sname(Prefix, "dur")], true, 5).await.len(), 5);
    assert_eq!(search(&store, vec![], true, 3).await, ["durand00", "durand01", "durand02"]);
    assert!(search(&store, vec![sname(Prefix, "durand")], true, 0).await.is_empty());
    for (limit, more) in [(29, true), (30, false), (31, false)] {
        let found = answer(&store, vec![fname(Substring, "durand")], true, limit, &|_| true).await;
        assert_eq!((found.entries.len(), found.more), (limit.min(30), more), "limit {limit}");
    }
    // The caller's check decides among the candidates: the walk goes on
    // until it has enough accepted ones.
    let odd = |e: &DirectoryEntry| e.username.ends_with(['1', '3', '5', '7', '9']);
    let found = answer(&store, vec![fname(Substring, "durand")], true, 10, &odd).await;
    assert_eq!(found.entries.len(), 10);
    assert!(found.more);
    assert!(found.entries.iter().all(odd));
    let found = answer(&store, vec![fname(Substring, "durand")], true, 15, &odd).await;
    assert_eq!((found.entries.len(), found.more), (15, false));
    let none = answer(&store, vec![fname(Substring, "durand")], true, 15, &|_| false).await;
    assert_eq!((none.entries.len(), none.more), (0, false));
}

fn account(username: &str, family: &str, emails: &[&str], academie: &str) -> AccountRecord {
    AccountRecord {
        username: username.into(),
        given_name: Some("Anne".into()),
        family_name: Some(family.into()),
        display_name: Some(format!("Anne {family}")),
        emails: emails.iter().map(|e| e.to_string()).collect(),
        academie: Some(academie.into()),
        title: None,
        phone: None,
    }
}

pub async fn directory_import(store: SharedStore) {
    use DirectoryMatch::*;
    store.create_academie("lyon", "Académie de Lyon", None).await.unwrap();
    store.create_academie("creteil", "Académie de Créteil", None).await.unwrap();
    let existing = store
        .create_principal(NewPrincipal {
            username: "abernard".into(),
            password_hash: Some("$argon2id$keep".into()),
            emails: vec!["a.bernard@ac-lyon.fr".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    store
        .create_principal(NewPrincipal { username: "salle-1".into(), kind: Some(PrincipalKind::Room), ..Default::default() })
        .await
        .unwrap();

    let batch = vec![
        account("amartin", "Martin", &["anne.martin@ac-lyon.fr", "am@ac-lyon.fr"], "lyon"),
        account("abernard", "Bernard", &["a.bernard@ac-lyon.fr"], "creteil"),
        account("anowhere", "Nulle", &[], "atlantide"),
        account("athief", "Voleuse", &["A.Bernard@ac-lyon.fr"], "lyon"),
        account("amartin", "Martin", &["other@ac-lyon.fr"], "lyon"),
        account("alate", "Tard", &["AM@ac-lyon.fr"], "lyon"),
        account("salle-1", "Salle", &[], "lyon"),
        account("aok", "Bien", &[], "lyon"),
    ];
    let outcomes = store.import_accounts(&batch).await.unwrap();
    let verdicts: Vec<&str> = outcomes
        .iter()
        .map(|o| match o {
            ImportOutcome::Created => "created",
            ImportOutcome::Updated => "updated",
            ImportOutcome::Unchanged => "unchanged",
            ImportOutcome::Rejected(_) => "rejected",
        })
        .collect();
    assert_eq!(verdicts, ["created", "updated", "rejected", "rejected", "rejected", "rejected", "rejected", "created"]);
    let reason = |i: usize| match &outcomes[i] {
        ImportOutcome::Rejected(r) => r.clone(),
        other => panic!("{other:?}"),
    };
    assert!(reason(2).contains("atlantide"), "{}", reason(2));
    assert!(reason(3).contains("another account"), "{}", reason(3));
    assert!(reason(4).contains("earlier in the batch"), "{}", reason(4));
    assert!(reason(5).contains("earlier account of the batch"), "{}", reason(5));
    assert!(reason(6).contains("not a user"), "{}", reason(6));
    let mut counts = ImportCounts::default();
    outcomes.iter().for_each(|o| counts.add(o));
    assert_eq!(counts, ImportCounts { created: 2, updated: 1, unchanged: 0, rejected: 5 });

    // New accounts have no password; an existing one keeps its own.
    let amartin = store.principal_by_username("amartin").await.unwrap().unwrap();
    assert_eq!((amartin.password_hash, amartin.kind, amartin.disabled), (None, PrincipalKind::User, false));
    let again = store.principal(existing.id).await.unwrap().unwrap();
    assert_eq!(again.password_hash.as_deref(), Some("$argon2id$keep"));
    assert_eq!(again.academie.as_deref(), Some("creteil"));
    assert!(store.principal_by_username("athief").await.unwrap().is_none());
    assert_eq!(store.count_principals().await.unwrap(), 4);
    let e = store.directory_entry("amartin").await.unwrap().unwrap();
    assert_eq!(e.emails, ["anne.martin@ac-lyon.fr", "am@ac-lyon.fr"]);
    assert_eq!(e.display_name.as_deref(), Some("Anne Martin"));
    assert_eq!(find(&store, vec![fname(Equals, "ANNE BERNARD")]).await, ["abernard"]);
    assert_eq!(find(&store, vec![email(Prefix, "am@")]).await, ["amartin"]);

    // Idempotent: the same batch again changes nothing and creates nothing.
    let modified = e.modified_at;
    let outcomes = store.import_accounts(&batch).await.unwrap();
    assert_eq!(outcomes[0], ImportOutcome::Unchanged);
    assert_eq!(outcomes[1], ImportOutcome::Unchanged);
    assert_eq!(outcomes[7], ImportOutcome::Unchanged);
    assert_eq!(store.count_principals().await.unwrap(), 4);
    assert_eq!(store.directory_entry("amartin").await.unwrap().unwrap().modified_at, modified);

    // Updates apply: names, addresses (the old ones leave the index).
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut changed = account("amartin", "Martin-Durand", &["anne.md@ac-lyon.fr"], "lyon");
    changed.title = Some("Proviseure".into());
    assert_eq!(store.import_accounts(&[changed]).await.unwrap(), [ImportOutcome::Updated]);
    let e = store.directory_entry("amartin").await.unwrap().unwrap();
    assert_eq!((e.emails.as_slice(), e.title.as_deref()), (&["anne.md@ac-lyon.fr".to_string()][..], Some("Proviseure")));
    assert!(e.modified_at > modified);
    assert!(find(&store, vec![email(Prefix, "am@")]).await.is_empty());
    assert_eq!(find(&store, vec![fname(Substring, "tin-dur")]).await, ["amartin"]);
    // The freed address can now be imported for someone else.
    let late = account("alate", "Tard", &["AM@ac-lyon.fr"], "lyon");
    assert_eq!(store.import_accounts(&[late]).await.unwrap(), [ImportOutcome::Created]);

    // A disabled account is updated but stays out of the directory.
    let aok = store.principal_by_username("aok").await.unwrap().unwrap();
    store.set_disabled(aok.id, true).await.unwrap();
    let renamed = account("aok", "Renommée", &[], "lyon");
    assert_eq!(store.import_accounts(&[renamed]).await.unwrap(), [ImportOutcome::Updated]);
    assert!(find(&store, vec![sname(Prefix, "renommée;")]).await.is_empty());
    assert!(store.principal(aok.id).await.unwrap().unwrap().disabled);
}

/// Addresses an import drops stay with their account as former addresses
/// (RFC 6638 §2.4.1: they still identify it for scheduling), which the
/// directory neither shows nor searches; one that comes back is current
/// again; one another account claims — released by its holder's record in
/// the same batch, or held as former — moves to that account as current.
pub async fn former_addresses_across_imports(store: SharedStore) {
    use DirectoryMatch::*;
    store.create_academie("lyon", "Académie de Lyon", None).await.unwrap();
    let by_email = |address: &'static str| {
        let store = store.clone();
        async move { store.principal_by_email(address).await.unwrap().map(|p| p.username) }
    };
    let emails = |username: &'static str| {
        let store = store.clone();
        async move {
            let p = store.principal_by_username(username).await.unwrap().unwrap();
            let list = store.principal_emails(p.id).await.unwrap();
            list.into_iter().map(|e| format!("{}{}{}", if e.former { "~" } else { "" }, e.address, if e.primary { "*" } else { "" })).collect::<Vec<_>>()
        }
    };
    let import = |batch: Vec<AccountRecord>| {
        let store = store.clone();
        async move {
            store
                .import_accounts(&batch)
                .await
                .unwrap()
                .into_iter()
                .map(|o| match o {
                    ImportOutcome::Created => "created".to_string(),
                    ImportOutcome::Updated => "updated".to_string(),
                    ImportOutcome::Unchanged => "unchanged".to_string(),
                    ImportOutcome::Rejected(r) => format!("rejected: {r}"),
                })
                .collect::<Vec<_>>()
        }
    };

    let first = vec![
        account("anne", "Martin", &["anne@ac-lyon.fr", "a.martin@ac-lyon.fr"], "lyon"),
        account("bruno", "Petit", &["bruno@ac-lyon.fr"], "lyon"),
    ];
    assert_eq!(import(first).await, ["created", "created"]);

    // Anne changes addresses; one of her old ones moves to bruno in the
    // same import (his record comes first: the order does not matter).
    let second = vec![
        account("bruno", "Petit", &["bruno@ac-lyon.fr", "A.Martin@ac-lyon.fr"], "lyon"),
        account("anne", "Martin", &["anne.martin@ac-lyon.fr"], "lyon"),
    ];
    assert_eq!(import(second.clone()).await, ["updated", "updated"]);
    assert_eq!(emails("anne").await, ["anne.martin@ac-lyon.fr*", "~anne@ac-lyon.fr"]);
    assert_eq!(emails("bruno").await, ["bruno@ac-lyon.fr*", "A.Martin@ac-lyon.fr"]);
    assert_eq!(by_email("ANNE@ac-lyon.fr").await.as_deref(), Some("anne"), "a former address still finds her");
    assert_eq!(by_email("a.martin@ac-lyon.fr").await.as_deref(), Some("bruno"));
    // The directory shows and searches current addresses only.
    assert_eq!(store.directory_entry("anne").await.unwrap().unwrap().emails, ["anne.martin@ac-lyon.fr"]);
    assert!(find(&store, vec![email(Prefix, "anne@")]).await.is_empty());
    assert!(find(&store, vec![email(Equals, "anne@ac-lyon.fr")]).await.is_empty());
    assert_eq!(find(&store, vec![email(Prefix, "anne.martin@")]).await, ["anne"]);
    assert_eq!(find(&store, vec![email(Substring, "martin@ac")]).await, ["anne", "bruno"]);
    let anne = store.principal_by_username("anne").await.unwrap().unwrap();
    let by_mail = PrincipalSearch {
        academie: None,
        always: Some(anne.id),
        name_terms: vec![],
        email_terms: vec!["anne@ac".into()],
        match_all: true,
        limit: 10,
    };
    assert!(store.search_principals(&by_mail).await.unwrap().principals.is_empty(), "principal searches ignore former addresses");
    // Idempotent.
    assert_eq!(import(second).await, ["unchanged", "unchanged"]);
    assert_eq!(emails("anne").await, ["anne.martin@ac-lyon.fr*", "~anne@ac-lyon.fr"]);

    // A former address that comes back is current again (and searched).
    let back = account("anne", "Martin", &["anne.martin@ac-lyon.fr", "anne@ac-lyon.fr"], "lyon");
    assert_eq!(import(vec![back]).await, ["updated"]);
    assert_eq!(emails("anne").await, ["anne.martin@ac-lyon.fr*", "anne@ac-lyon.fr"]);
    assert_eq!(find(&store, vec![email(Prefix, "anne@")]).await, ["anne"]);
    // Dropped again: former again, after every other change.
    let again = account("anne", "Martin", &["a.m@ac-lyon.fr"], "lyon");
    assert_eq!(import(vec![again]).await, ["updated"]);
    assert_eq!(emails("anne").await, ["a.m@ac-lyon.fr*", "~anne.martin@ac-lyon.fr", "~anne@ac-lyon.fr"]);

    // A current address is refused to another account, unless its holder's
    // record (accepted) drops it in the same batch: bruno's record is
    // rejected (unknown académie), so he keeps his address and claire's
    // record, which claims it, is rejected too; dan takes a former address
    // of anne's.
    let third = vec![
        account("claire", "Durand", &["bruno@ac-lyon.fr"], "lyon"),
        account("bruno", "Petit", &["b.petit@ac-lyon.fr"], "atlantide"),
        account("dan", "Roux", &["Anne@ac-lyon.fr"], "lyon"),
    ];
    let verdicts = import(third).await;
    assert!(verdicts[0].contains("another account"), "{verdicts:?}");
    assert!(verdicts[1].contains("atlantide"), "{verdicts:?}");
    assert_eq!(verdicts[2], "created");
    assert!(store.principal_by_username("claire").await.unwrap().is_none());
    assert_eq!(emails("bruno").await, ["bruno@ac-lyon.fr*", "A.Martin@ac-lyon.fr"]);
    assert_eq!(emails("dan").await, ["Anne@ac-lyon.fr*"]);
    assert_eq!(emails("anne").await, ["a.m@ac-lyon.fr*", "~anne.martin@ac-lyon.fr"]);
    assert_eq!(by_email("anne@ac-lyon.fr").await.as_deref(), Some("dan"));

    // Two accounts swap an address through one batch; one released address
    // claimed by two records goes to the first.
    let fourth = vec![
        account("bruno", "Petit", &["bruno@ac-lyon.fr"], "lyon"),
        account("anne", "Martin", &["a.m@ac-lyon.fr", "a.martin@ac-lyon.fr"], "lyon"),
        account("erin", "Blanc", &["A.Martin@ac-lyon.fr"], "lyon"),
    ];
    let verdicts = import(fourth).await;
    assert_eq!(verdicts[..2], ["updated", "updated"]);
    assert!(verdicts[2].contains("earlier account of the batch"), "{verdicts:?}");
    assert_eq!(emails("bruno").await, ["bruno@ac-lyon.fr*"], "given to anne: not his former address");
    assert_eq!(emails("anne").await, ["a.m@ac-lyon.fr*", "a.martin@ac-lyon.fr", "~anne.martin@ac-lyon.fr"]);
}

/// Upgrading a database that has principals (schema 0002) indexes them
/// once, with the Rust folding, when the store migrates.
pub async fn upgrade_indexes_existing_principals(backend: crate::db::Backend) {
    use crate::db::Backend;
    let db = crate::db::fresh_db(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let flavour = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
    for file in ["0001_init.sql", "0002_calendar_index.sql"] {
        let from = format!("{}/migrations/{flavour}/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(from, dir.path().join(file)).unwrap();
    }
    let old_schema = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    let rows = [
        "INSERT INTO principals (username, kind, display_name, created_at) VALUES ('emartin', 'user', 'Élodie Martin', 7)",
        "INSERT INTO principal_emails (principal_id, address, address_lower, is_primary, position) \
         SELECT id, 'Elodie@ac-lyon.fr', 'elodie@ac-lyon.fr', TRUE, 0 FROM principals",
        "INSERT INTO principals (username, kind, display_name, created_at, disabled) VALUES ('gone', 'user', 'Gone', 7, TRUE)",
    ];
    match backend {
        Backend::Sqlite => {
            use std::str::FromStr;
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&db.url).unwrap().create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            old_schema.run(&pool).await.unwrap();
            for sql in rows {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            old_schema.run(&pool).await.unwrap();
            for sql in rows {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
    let store = almanach::store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(find(&store, vec![fname(DirectoryMatch::Equals, "ÉLODIE MARTIN")]).await, ["emartin"]);
    assert_eq!(find(&store, vec![email(DirectoryMatch::Prefix, "elodie@")]).await, ["emartin"]);
    assert!(find(&store, vec![fname(DirectoryMatch::Equals, "gone")]).await.is_empty());
    assert_eq!(store.directory_entry("emartin").await.unwrap().unwrap().modified_at, 7);
}
