#!/usr/bin/env python3
"""Seed the fuzz corpora from the repository's fixtures, the string literals
of its tests and the examples of the RFCs (../shared/spec when present).

Writes fuzz/seeds/<target>/<sha1>; `cargo fuzz cmin <target> fuzz/seeds/<target>`
is not what keeps them: run each target once over the seeds into
fuzz/corpus/<target> and minimize that (see fuzz/README.md).
"""
import hashlib
import itertools
import os
import re
import sys

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
    for t in sorted(os.listdir(OUT)):
        print(t, len(os.listdir(os.path.join(OUT, t))), file=sys.stderr)


if __name__ == "__main__":
    main()
