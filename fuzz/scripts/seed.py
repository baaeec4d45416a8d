#!/usr/bin/env python3
"""Seed the fuzz corpora from the repository's fixtures, the string literals
of its tests and the examples of the RFCs (../shared/spec when present);
BigBlueButton's answers from fixtures/bbb/ (its API reference's examples).

Writes fuzz/seeds/<target>/<sha1>; `cargo fuzz cmin <target> fuzz/seeds/<target>`
is not what keeps them: run each target once over the seeds into
fuzz/corpus/<target> and minimize that (see fuzz/README.md).
"""
import base64
import hashlib
import itertools
import quopri
import os
import re
import sys
import textwrap

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC = os.environ.get("ALMANACH_SPEC", os.path.join(ROOT, "..", "..", "shared", "spec"))
OUT = os.path.join(ROOT, "fuzz", "seeds")


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def rust_literals(text):
    """Rust string literals, raw and escaped, decoded."""
    out = []
    for m in re.finditer(r'r(#+)"(.*?)"\1', text, re.S):
        out.append(m.group(2))
    for m in re.finditer(r'(?<![r#\w])"((?:[^"\\]|\\.)*)"', text, re.S):
        s = m.group(1)
        s = re.sub(r"\\\n\s*", "", s)
        s = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda x: chr(int(x.group(1), 16)), s)
        s = s.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t").replace('\\"', '"').replace("\\0", "\0").replace("\\\\", "\\")
        out.append(s)
    return out


def rfc_text(path):
    """The RFC without page breaks (footer, form feed, header)."""
    lines = read(path).splitlines()
    kept = []
    for line in lines:
        if re.search(r"\[Page \d+\]\s*$", line) or re.match(r"^RFC \d+ ", line) or "\f" in line:
            continue
        kept.append(line)
    return kept


def dedent(block):
    indents = [len(l) - len(l.lstrip()) for l in block if l.strip()]
    n = min(indents) if indents else 0
    return [l[n:] for l in block]


def rfc_blocks(lines, begin, end):
    """Lines from one matching `begin` to the next matching `end`, dedented."""
    blocks, cur = [], None
    for line in lines:
        s = line.strip()
        if cur is None and s == begin:
            cur = [line]
        elif cur is not None:
            if not s:
                continue  # blank lines left by the removed page breaks
            cur.append(line)
            if s == end:
                blocks.append("\r\n".join(dedent(cur)) + "\r\n")
                cur = None
    return blocks


def rfc_xml(lines):
    """XML bodies: from `<?xml` while lines stay indented at least as much."""
    out = []
    for i, line in enumerate(lines):
        if line.strip().startswith("<?xml"):
            indent = len(line) - len(line.lstrip())
            block = []
            for l in lines[i:]:
                if l.strip() and (len(l) - len(l.lstrip()) < indent or l.strip().startswith(">>")):
                    break
                block.append(l)
            out.append("\n".join(dedent(block)).strip() + "\n")
    return out


def write(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def b64(data):
    return "\r\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76)) + "\r\n"


def qp(data):
    return quopri.encodestring(data).decode().replace("\n", "\r\n")


def imip_messages(ics):
    """iMIP messages (RFC 6047) carrying `ics`, in the shapes clients send."""
    ics = crlf(ics)
    m = re.search(r"^METHOD:(\S+)", ics, re.M)
    method = m.group(1) if m else "REQUEST"
    raw = ics.encode("utf-8")
    head = "From: Paul Durand <paul.durand@example.org>\r\nTo: <reply+mzxw6ytboiaaaaaaaaaaaaaaaa@agenda.example.fr>\r\n" \
        "Subject: =?utf-8?Q?Accept=C3=A9?=\r\nMessage-ID: <m1@example.org>\r\nDate: Fri, 3 Jan 2025 09:12:44 +0000\r\nMIME-Version: 1.0\r\n"
    cal = f"Content-Type: text/calendar; charset=\"UTF-8\"; method={method}\r\n"
    out = [
        # One text/calendar part, 8bit.
        head + cal + "Content-Transfer-Encoding: 8bit\r\n\r\n" + ics,
        # multipart/alternative, base64 (Gmail).
        head + "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n"
        "Content-Type: text/plain; charset=\"UTF-8\"\r\n\r\nInvitation\r\n--alt\r\n"
        + cal + "Content-Transfer-Encoding: base64\r\n\r\n" + b64(raw) + "--alt--\r\n",
        # quoted-printable, method in lower case (Outlook).
        head + "Content-Type: multipart/alternative;\r\n\tboundary=\"_000_X_\"\r\n\r\n--_000_X_\r\n"
        "Content-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>R=C3=A9ponse</p>\r\n--_000_X_\r\n"
        + cal.replace(method, method.lower()) + "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(raw) + "\r\n--_000_X_--\r\n",
        # Nested: mixed > alternative > text/calendar, and the application/ics attachment.
        head + "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\n"
        "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain\r\n\r\nVoir\r\n--alt\r\n"
        + cal + "\r\n" + ics + "--alt--\r\n--mix\r\n"
        "Content-Type: application/ics; name=\"invite.ics\"\r\nContent-Disposition: attachment; filename=\"invite.ics\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + b64(raw) + "--mix--\r\n",
        # No method parameter: the attachment's METHOD decides.
        head + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\n"
        "Content-Type: application/ics\r\n\r\n" + ics + "\r\n--b--\r\n",
    ]
    try:
        latin = ics.encode("iso-8859-1")
        out.append(head + cal.replace("UTF-8", "iso-8859-1") + "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(latin))
    except UnicodeEncodeError:
        pass
    return out


def main():
    literals = []
    for base in ("src", "tests"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, base)):
            for name in files:
                if name.endswith(".rs"):
                    literals += rust_literals(read(os.path.join(dirpath, name)))

    icals, vcards, xmls, ifs = [], [], [], []
    for s in literals:
        if "BEGIN:VCALENDAR" in s:
            icals.append(s)
        elif "BEGIN:VEVENT" in s or "BEGIN:VTODO" in s:
            icals.append("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:seed\r\n" + s + "END:VCALENDAR\r\n")
        if "BEGIN:VCARD" in s:
            vcards.append(s)
        if s.lstrip().startswith("<") and ("xmlns" in s or "<?xml" in s):
            xmls.append(s)
        if re.match(r"^\s*(<[^>]*>\s*)?\(", s) and ")" in s:
            ifs.append(s)

    for name in sorted(os.listdir(os.path.join(ROOT, "fixtures", "rfc4791"))):
        p = os.path.join(ROOT, "fixtures", "rfc4791", name)
        (icals if name.endswith(".ics") else xmls).append(read(p))
    for sub in ("rfc6352", "rfc4918"):
        for name in sorted(os.listdir(os.path.join(ROOT, "fixtures", sub))):
            p = os.path.join(ROOT, "fixtures", sub, name)
            if name.endswith(".vcf"):
                vcards.append(read(p))
            elif name.endswith(".xml"):
                xmls.append(read(p))

    if os.path.isdir(SPEC):
        for rfc in ("rfc5545.txt", "rfc4791.txt", "rfc5546.txt", "rfc6638.txt"):
            p = os.path.join(SPEC, rfc)
            if os.path.exists(p):
                icals += rfc_blocks(rfc_text(p), "BEGIN:VCALENDAR", "END:VCALENDAR")
        for rfc in ("rfc6350.txt", "rfc2426.txt", "rfc6352.txt"):
            p = os.path.join(SPEC, rfc)
            if os.path.exists(p):
                vcards += rfc_blocks(rfc_text(p), "BEGIN:VCARD", "END:VCARD")
        for rfc in ("rfc4918.txt", "rfc4791.txt", "rfc6352.txt", "rfc3744.txt", "rfc6578.txt", "rfc5689.txt"):
            p = os.path.join(SPEC, rfc)
            if os.path.exists(p):
                xmls += rfc_xml(rfc_text(p))
        p = os.path.join(SPEC, "rfc4918.txt")
        if os.path.exists(p):
            lines = rfc_text(p)
            for i, line in enumerate(lines):
                m = re.match(r"^\s*If: (.*)$", line)
                if m:
                    value = [m.group(1).strip()]
                    for l in lines[i + 1:]:
                        if l.strip().startswith(("(", "<", "[")) and not l.strip().startswith("<?"):
                            value.append(l.strip())
                        else:
                            break
                    ifs.append(" ".join(value))

    icals = sorted(set(icals))
    vcards = sorted(set(vcards))
    xmls = sorted(set(xmls))
    for s in xmls:
        write("xml_reader", s)
    for s in icals:
        write("ical_put", s)
    for s in vcards:
        write("vcard_put", s)
    for s in sorted(set(ifs)):
        write("if_header", s)
    cal_queries = [x for x in xmls if "calendar-query" in x or ("urn:ietf:params:xml:ns:caldav" in x and "filter" in x)]
    card_queries = [x for x in xmls if "addressbook-query" in x]
    # Each query with a few objects, each object with a few queries.
    for i, (q, o) in enumerate(itertools.product(cal_queries, icals)):
        if i % 7 == 0:
            write("calendar_query", q.encode() + b"\0" + o.encode())
    for q, o in itertools.product(card_queries, vcards):
        write("vcard_filter", q.encode() + b"\0" + o.encode())
    # iMIP: the test fixtures as they are, and iTIP calendars (with a
    # METHOD) wrapped in the message shapes of `imip_messages`.
    imip_dir = os.path.join(ROOT, "tests", "it", "imip", "fixtures")
    itips = []
    for name in sorted(os.listdir(imip_dir)):
        p = os.path.join(imip_dir, name)
        with open(p, "rb") as f:
            data = f.read()
        if name.endswith(".eml"):
            write("imip_lmtp", data)
        elif name.endswith(".ics"):
            itips.append(data.decode("utf-8"))
    with_method = [i for i in icals if re.search(r"^METHOD:(REQUEST|REPLY|CANCEL|ADD|COUNTER)\s*$", i, re.M) and len(i) < 8192]
    itips += [i for k, i in enumerate(with_method) if k % max(1, len(with_method) // 12) == 0]
    for ics in itips:
        for message in imip_messages(ics):
            write("imip_lmtp", message)
    for s in literals:
        if "Content-Type:" in s and ("text/calendar" in s or "application/ics" in s) and "{" not in s:
            write("imip_lmtp", s)
    # BigBlueButton answers: the API reference's examples (fixtures/bbb/)
    # and the answers the tests' stand-in writes.
    bbb_dir = os.path.join(ROOT, "fixtures", "bbb")
    for name in sorted(os.listdir(bbb_dir)):
        if name.endswith(".xml"):
            write("bbb_answer", read(os.path.join(bbb_dir, name)))
    for s in literals:
        if "<returncode>" in s and "{" not in s:
            write("bbb_answer", s)
    for t in sorted(os.listdir(OUT)):
        print(t, len(os.listdir(os.path.join(OUT, t))), file=sys.stderr)


if __name__ == "__main__":
    main()
