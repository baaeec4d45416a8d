//! The national directory as a CardDAV directory gateway
//! (draft-daboo-carddav-directory-gateway) over real HTTP on both stores:
//! discovery, read-only, refusal to be listed or synchronized, searches by
//! name and email (prefix, substring, case, accents per i;unicode-casemap),
//! the result cap, single cards by GET and multiget.

use almanach::store::AccountRecord;

use crate::caldav::{names, responses};
use crate::carddav::report;
use crate::harness::{spawn_with, TestServer};
use crate::{both_stores, each_store};

const DIR: &str = "/directory/";

async fn load_agents(srv: &TestServer) {
    let agent = |username: &str, given: &str, family: &str, email: &str, academie: &str, title: &str| AccountRecord {
        username: username.into(),
        given_name: Some(given.into()),
        family_name: Some(family.into()),
        display_name: None,
        emails: vec![email.into()],
        academie: Some(academie.into()),
        title: Some(title.into()),
        phone: Some("+33 4 72 80 60 00".into()),
    };
    let batch = [
        agent("emartin", "Élodie", "Martin", "elodie.martin@ac-lyon.fr", "lyon", "Professeure de lettres"),
        agent("jdubois", "Jean", "Dubois", "jean.dubois@ac-lyon.fr", "lyon", "Principal adjoint"),
        agent("hdubois", "Hélène", "Dubois-Legrand", "helene.dubois-legrand@ac-creteil.fr", "creteil", "Inspectrice"),
        agent("pdurand", "Pierre", "Durand", "pierre.durand@ac-creteil.fr", "creteil", "CPE"),
    ];
    for outcome in srv.store.import_accounts(&batch).await.unwrap() {
        assert!(!matches!(outcome, almanach::store::ImportOutcome::Rejected(_)), "{outcome:?}");
    }
}

fn search(filter: &str, extra: &str) -> String {
    format!(
        r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data><C:prop name="FN"/><C:prop name="EMAIL"/><C:prop name="ORG"/></C:address-data></D:prop>{filter}{extra}</C:addressbook-query>"#
    )
}

fn tm(prop: &str, match_type: &str, text: &str) -> String {
    format!(r#"<C:filter><C:prop-filter name="{prop}"><C:text-match match-type="{match_type}">{text}</C:text-match></C:prop-filter></C:filter>"#)
}

async fn found(srv: &TestServer, filter: &str) -> Vec<String> {
    let r = report(srv, DIR, "1", &search(filter, "")).await;
    assert_eq!(r.status, 207, "{filter}: {}", r.text());
    names(&r.text(), DIR)
}

async fn gateway_discovery_and_read_only(srv: TestServer) {
    let pf = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:directory-gateway/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", "/principals/alice/", "alice").header("depth", "0").body(pf).send().await;
    assert!(r.text().contains("<CR:directory-gateway><D:href>/directory/</D:href></CR:directory-gateway>"), "{}", r.text());
    // Not in allprop (draft §3).
    let all = srv.as_user("PROPFIND", "/principals/alice/", "alice").header("depth", "0").send().await.text();
    assert!(!all.contains("directory-gateway"), "{all}");

    let pf = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:resourcetype/><D:displayname/><C:addressbook-description/><C:supported-address-data/><D:supported-report-set/><D:current-user-privilege-set/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", DIR, "carol").header("depth", "0").body(pf).send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    assert!(t.contains("<D:resourcetype><D:collection/><CR:addressbook/><CR:directory/></D:resourcetype>"), "{t}");
    assert!(t.contains("<D:displayname>Annuaire national</D:displayname>"), "{t}");
    assert!(t.contains("<CR:addressbook-query/>") && t.contains("<CR:addressbook-multiget/>") && !t.contains("sync-collection"), "{t}");
    assert!(t.contains("<D:privilege><D:read/></D:privilege>") && !t.contains("<D:write/>"), "{t}");

    // Never listed whole, never synchronized.
    let r = srv.as_user("PROPFIND", DIR, "alice").header("depth", "1").body(pf).send().await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<D:number-of-matches-within-limits/>"), "{}", r.text());
    assert_eq!(srv.as_user("GET", DIR, "alice").send().await.status, 403);
    let sync = r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#;
    let r = report(&srv, DIR, "0", sync).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<D:supported-report/>"), "{}", r.text());
    // A filter that would list everything, or that the index cannot answer.
    let r = report(&srv, DIR, "1", &search("<C:filter/>", "")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<CR:supported-filter/>"), "{}", r.text());
    let r = report(&srv, DIR, "1", &search(&tm("TEL", "contains", "04"), "")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains(r#"<CR:supported-filter><CR:prop-filter name="TEL"/></CR:supported-filter>"#), "{}", r.text());

    // Read-only.
    for (method, path) in [("PUT", "/directory/x.vcf"), ("DELETE", "/directory/alice.vcf"), ("MKCOL", "/directory/sub/"), ("PROPPATCH", DIR), ("MOVE", "/directory/alice.vcf")] {
        let r = srv.as_user(method, path, "alice").header("content-type", "text/vcard").body("BEGIN:VCARD\r\nEND:VCARD\r\n").send().await;
        assert_eq!(r.status, 403, "{method} {path}");
    }
    // Anonymous requests are challenged like everywhere else.
    assert_eq!(srv.req("PROPFIND", DIR, None).send().await.status, 401);
}

async fn searches_by_name_and_email(srv: TestServer) {
    load_agents(&srv).await;
    // Prefix of a name (the family name here: where N starts),
    // case-insensitive; FN is "Given Family", which does not start so.
    assert_eq!(found(&srv, &tm("N", "starts-with", "dub")).await, vec!["hdubois.vcf", "jdubois.vcf"]);
    assert_eq!(found(&srv, &tm("N", "starts-with", "DUBOIS")).await, vec!["hdubois.vcf", "jdubois.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "starts-with", "dub")).await, Vec::<String>::new());
    assert_eq!(found(&srv, &tm("FN", "starts-with", "jean d")).await, vec!["jdubois.vcf"]);
    // Substring, through the structured name too.
    assert_eq!(found(&srv, &tm("FN", "contains", "legra")).await, vec!["hdubois.vcf"]);
    assert_eq!(found(&srv, &tm("N", "contains", "Durand;Pierre;;;")).await, vec!["pdurand.vcf"]);
    // Email prefix and substring.
    assert_eq!(found(&srv, &tm("EMAIL", "starts-with", "jean.")).await, vec!["jdubois.vcf"]);
    // The test server's own accounts are agents too (carol is in Créteil).
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "@ac-creteil")).await, vec!["carol.vcf", "hdubois.vcf", "pdurand.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "equals", "PIERRE.DURAND@AC-CRETEIL.FR")).await, vec!["pdurand.vcf"]);
    // i;unicode-casemap: case folds, accents stay significant.
    assert_eq!(found(&srv, &tm("FN", "contains", "ÉLODIE")).await, vec!["emartin.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "starts-with", "hélène")).await, vec!["hdubois.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "starts-with", "helene")).await, Vec::<String>::new());
    // anyof / allof.
    let any = r#"<C:filter test="anyof"><C:prop-filter name="N"><C:text-match match-type="starts-with">martin</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match>durand</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(found(&srv, any).await, vec!["emartin.vcf", "pdurand.vcf"]);
    let all = r#"<C:filter test="allof"><C:prop-filter name="N"><C:text-match match-type="starts-with">dubois</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match>creteil</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(found(&srv, all).await, vec!["hdubois.vcf"]);
    // What a card holds: generated from the principal record.
    let r = report(&srv, DIR, "1", &search(&tm("EMAIL", "starts-with", "helene."), "")).await;
    let t = r.text().replace("&#13;", "\r");
    assert!(t.contains("FN:Hélène Dubois-Legrand\r\n"), "{t}");
    assert!(t.contains("EMAIL;TYPE=INTERNET,WORK,PREF:helene.dubois-legrand@ac-creteil.fr\r\n"), "{t}");
    assert!(t.contains("ORG:Académie de Créteil\r\n"), "{t}");
    assert!(!t.contains("TEL"), "only the asked properties: {t}");
    // A disabled account leaves the directory.
    let p = srv.store.principal_by_username("pdurand").await.unwrap().unwrap();
    srv.store.set_disabled(p.id, true).await.unwrap();
    assert_eq!(found(&srv, &tm("FN", "contains", "durand")).await, Vec::<String>::new());
    assert_eq!(srv.as_user("GET", "/directory/pdurand.vcf", "alice").send().await.status, 404);
}

async fn cards_by_get_and_multiget(srv: TestServer) {
    load_agents(&srv).await;
    let r = srv.as_user("GET", "/directory/jdubois.vcf", "carol").send().await;
    assert_eq!(r.status, 200);
    let card = r.text();
    assert!(card.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:urn:x-almanach:user:jdubois\r\nFN:Jean Dubois\r\nN:Dubois;Jean;;;\r\n"), "{card}");
    assert!(card.contains("TITLE:Principal adjoint\r\nTEL;TYPE=WORK,VOICE:+33 4 72 80 60 00\r\n"), "{card}");
    let etag = r.header("etag").unwrap();
    let again = srv.as_user("GET", "/directory/jdubois.vcf", "carol").header("if-none-match", &etag).send().await;
    assert_eq!(again.status, 304);
    let v4 = srv.as_user("GET", "/directory/jdubois.vcf", "carol").header("accept", "text/vcard; version=4.0").send().await;
    assert!(v4.text().contains("VERSION:4.0\r\n"), "{}", v4.text());
    assert_eq!(srv.as_user("GET", "/directory/nobody.vcf", "carol").send().await.status, 404);
    assert_eq!(srv.as_user("GET", "/directory/jdubois", "carol").send().await.status, 404);

    let body = r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>/directory/emartin.vcf</D:href><D:href>/directory/ghost.vcf</D:href><D:href>/addressbooks/alice/contacts/x.vcf</D:href></C:addressbook-multiget>"#;
    let r = report(&srv, DIR, "0", body).await;
    assert_eq!(r.status, 207);
    let all = responses(&r.text());
    assert_eq!(all.len(), 3);
    assert!(all[0].1.contains("FN:Élodie Martin") && all[0].1.contains("<D:getetag>"), "{}", all[0].1);
    assert!(all[1].1.contains("404") && all[2].1.contains("404"));
    // PROPFIND on one card.
    let r = srv.as_user("PROPFIND", "/directory/emartin.vcf", "bob").header("depth", "0").send().await;
    assert_eq!(r.status, 207);
    assert!(r.text().contains("<D:getcontenttype>text/vcard"), "{}", r.text());
}

async fn results_are_capped(backend: crate::db::Backend) {
    let srv = spawn_with(backend, |c| c.directory_max_results = 2).await;
    load_agents(&srv).await;
    // Seven agents match "@ac-"; the server returns two and a 507.
    let r = report(&srv, DIR, "1", &search(&tm("EMAIL", "contains", "@ac-"), "")).await;
    assert_eq!(r.status, 207);
    let t = r.text();
    let all = responses(&t);
    assert_eq!(all.len(), 3, "{t}");
    let cut = all.iter().find(|(h, _)| h == DIR).expect("507 for the directory").1.clone();
    assert!(cut.contains("507") && cut.contains("<D:number-of-matches-within-limits/>"), "{cut}");
    // A smaller client limit wins.
    let limit = "<C:limit><C:nresults>1</C:nresults></C:limit>";
    let r = report(&srv, DIR, "1", &search(&tm("EMAIL", "contains", "@ac-"), limit)).await;
    assert_eq!(responses(&r.text()).len(), 2);
    // Exactly as many matches as the cap: no 507.
    let r = report(&srv, DIR, "1", &search(&tm("N", "starts-with", "dubois"), "")).await;
    assert!(!r.text().contains("507"), "{}", r.text());
}

/// Issue 16, case 1: a structured N is matched as a whole (RFC 6352
/// §10.5.4), never as one of its components.
async fn structured_name_is_matched_whole(srv: TestServer) {
    let timothee = |username: &str, family: &str| record(username, "Timothée", family, &format!("{username}@ac-lyon.fr"));
    let batch = [
        timothee("tandre", "André"),
        timothee("tarnaud", "Arnaud"),
        timothee("taubert", "Aubert"),
        timothee("tleclerc", "Leclerc"),
        record("aleclerc", "Anne", "Leclerc", "anne.leclerc@ac-lyon.fr"),
    ];
    import(&srv, &batch).await;
    assert_eq!(found(&srv, &tm("N", "equals", "Leclerc;Timothée;;;")).await, vec!["tleclerc.vcf"]);
    assert_eq!(found(&srv, &tm("N", "equals", "LECLERC;TIMOTHÉE;;;")).await, vec!["tleclerc.vcf"]);
    assert_eq!(found(&srv, &tm("N", "equals", "Leclerc;Timothee;;;")).await, Vec::<String>::new(), "accents count");
    assert_eq!(found(&srv, &tm("N", "equals", "Timothée")).await, Vec::<String>::new());
    assert_eq!(found(&srv, &tm("N", "starts-with", "Leclerc;T")).await, vec!["tleclerc.vcf"]);
    assert_eq!(found(&srv, &tm("N", "contains", "clerc;timo")).await, vec!["tleclerc.vcf"]);
    assert_eq!(found(&srv, &tm("N", "ends-with", "Timothée;;;")).await.len(), 4);
    assert_eq!(found(&srv, &tm("N", "contains", "timothée")).await.len(), 4);
    assert_eq!(found(&srv, &tm("N", "contains", "Leclerc")).await, vec!["aleclerc.vcf", "tleclerc.vcf"]);
    // FN is the shown name, not its parts.
    assert_eq!(found(&srv, &tm("FN", "equals", "Timothée")).await, Vec::<String>::new());
    assert_eq!(found(&srv, &tm("FN", "equals", "timothée leclerc")).await, vec!["tleclerc.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "starts-with", "Leclerc")).await, Vec::<String>::new());
    // A property no card has matches nothing.
    assert_eq!(found(&srv, &tm("NICKNAME", "contains", "Timothée")).await, Vec::<String>::new());
    assert_eq!(found(&srv, &tm("ADR", "contains", "Lyon")).await, Vec::<String>::new());
    // Other collations (RFC 4790 §9): i;octet is byte for byte.
    let octet = |text: &str| {
        format!(r#"<C:filter><C:prop-filter name="N"><C:text-match collation="i;octet" match-type="starts-with">{text}</C:text-match></C:prop-filter></C:filter>"#)
    };
    assert_eq!(found(&srv, &octet("Leclerc;")).await, vec!["aleclerc.vcf", "tleclerc.vcf"]);
    assert_eq!(found(&srv, &octet("leclerc;")).await, Vec::<String>::new());
    // An allof narrows on FN and checks TEL on the cards.
    let all = r#"<C:filter test="allof"><C:prop-filter name="FN"><C:text-match>leclerc</C:text-match></C:prop-filter><C:prop-filter name="TEL"><C:text-match>72</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(found(&srv, all).await, vec!["aleclerc.vcf", "tleclerc.vcf"]);
    let all = r#"<C:filter test="allof"><C:prop-filter name="FN"><C:text-match>leclerc</C:text-match></C:prop-filter><C:prop-filter name="TEL"><C:text-match negate-condition="yes">72</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(found(&srv, all).await, Vec::<String>::new());
}

/// Issue 16, case 2: a short contains or ends-with finds the values that
/// hold the needle anywhere, never only those starting with it.
async fn short_needles_are_answered_completely(backend: crate::db::Backend) {
    let srv = spawn_with(backend, |c| c.directory_max_results = 3).await;
    let batch = [
        record("mbernard", "Mathieu", "Bernard", "mathieu.bernard@ac-lyon.fr"),
        record("emartin", "Eugène", "Martin", "eugene.martin@ac-lyon.fr"),
        record("jmeunier", "Jean", "Meunier", "jean.meunier@ac-nice.fr"),
        record("pleroy", "Paul", "Leroy", "paul.leroy@ac-nice.fr"),
    ];
    import(&srv, &batch).await;
    assert_eq!(found(&srv, &tm("FN", "contains", "eu")).await, vec!["emartin.vcf", "jmeunier.vcf", "mbernard.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "contains", "EU")).await.len(), 3);
    assert_eq!(found(&srv, &tm("FN", "ends-with", "eu")).await, Vec::<String>::new());
    assert_eq!(found(&srv, &tm("N", "ends-with", "eu;;;")).await, vec!["mbernard.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "contains", "y")).await, vec!["alice.vcf", "bob.vcf", "pleroy.vcf"], "alice lyon, bob lyon");
    assert_eq!(found(&srv, &tm("FN", "contains", "oy")).await, vec!["pleroy.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "ends-with", "y")).await, vec!["pleroy.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "contains", "è")).await, vec!["emartin.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "u.")).await, vec!["mbernard.vcf"]);
    // More matches than the cap: the cap, and a 507 (RFC 6352 §8.6.2).
    let r = report(&srv, DIR, "1", &search(&tm("FN", "contains", "e"), "")).await;
    let all = responses(&r.text());
    assert_eq!(all.len(), 4, "{}", r.text());
    assert!(all.iter().any(|(h, body)| h == DIR && body.contains("507")), "{}", r.text());
    // As many as the cap: no 507.
    let r = report(&srv, DIR, "1", &search(&tm("FN", "contains", "eu"), "")).await;
    assert!(!r.text().contains("507"), "{}", r.text());
}

/// Issue 16, case 3: needles with `.`, `@` or `_` (an address typed from
/// the middle, a full one, its end) are exact; their cost is a range of
/// the index on a window of the needle (docs/performance.md).
async fn separator_needles_are_exact(srv: TestServer) {
    let batch = [
        record("cbesnard", "Catherine", "Besnard", "catherine.besnard@ac-lyon.fr"),
        record("cbesnard2", "Christine", "Besnard", "christine.besnard@ac-nice.fr"),
        record("jbesnard", "Jean", "Besnard", "jean.besnard@ac-lyon.fr"),
        record("abernard", "Antoine", "Bernard", "antoine.bernard@ac-lyon.fr"),
        record("nb_x", "Nina", "Blanc", "n_b@ac-lyon.fr"),
    ];
    import(&srv, &batch).await;
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "n.b")).await, vec!["jbesnard.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "e.b")).await, vec!["abernard.vcf", "cbesnard.vcf", "cbesnard2.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "ends-with", ".besnard@ac-lyon.fr")).await, vec!["cbesnard.vcf", "jbesnard.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "ine.besnard@ac-")).await, vec!["cbesnard.vcf", "cbesnard2.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "catherine.besnard@ac-lyon.fr")).await, vec!["cbesnard.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "equals", "Catherine.Besnard@AC-LYON.FR")).await, vec!["cbesnard.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "d@ac-l")).await, vec!["abernard.vcf", "cbesnard.vcf", "jbesnard.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "n_b@")).await, vec!["nb_x.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "_")).await, vec!["nb_x.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "ends-with", "nice.fr")).await, vec!["cbesnard2.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "ice.f")).await, vec!["cbesnard2.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "contains", "n.b")).await, Vec::<String>::new());
}

fn record(username: &str, given: &str, family: &str, email: &str) -> AccountRecord {
    AccountRecord {
        username: username.into(),
        given_name: Some(given.into()),
        family_name: Some(family.into()),
        display_name: None,
        emails: vec![email.into()],
        academie: Some("lyon".into()),
        title: None,
        phone: Some("+33 4 72 00 00 00".into()),
    }
}

async fn import(srv: &TestServer, batch: &[AccountRecord]) {
    for outcome in srv.store.import_accounts(batch).await.unwrap() {
        assert!(!matches!(outcome, almanach::store::ImportOutcome::Rejected(_)), "{outcome:?}");
    }
}

both_stores!(
    gateway_discovery_and_read_only,
    searches_by_name_and_email,
    cards_by_get_and_multiget,
    structured_name_is_matched_whole,
    separator_needles_are_exact
);
each_store!(results_are_capped, short_needles_are_answered_completely);
