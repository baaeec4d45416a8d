#!/usr/bin/env python3
"""The worst requests one user can build, against a running Almanach, while
the latency of /health and of another user's GET is measured.

Usage (a release build; the PID lets the script read the server's memory):

    almanach serve &  # or any store
    scripts/heavy_load.py --url http://127.0.0.1:8008 \
        --user alice --password PW --other-user bob --other-password PW2 \
        --pid $! --seconds 60

What it does: stores, in a calendar of --user, the hostile objects of the
hardening issue (an hourly event with 100 and 1,000 X- lines, a minutely
event with 115,200 EXDATEs, one with 144,000 RDATEs, an endless secondly
event), then runs --workers threads that send, over and over, the reports
that used to exhaust the server (six- and hundred-year expansions, a week of
the EXDATE event, a day of the RDATE event, a year of free-busy on the
secondly event), 10 MB PUTs of 2 million short lines, and requests whose
client gives up after one second. Meanwhile it fetches /health and a small
event of --other-user every 50 ms. At the end it prints, for each kind of
request, the statuses seen, and the latency percentiles of the two probes,
and the server's resident memory (current and peak) when --pid is given.

Only the Python standard library is needed. Timings are for reading, not
asserting: run it on a quiet machine and compare with a run without the
heavy workers (--workers 0).
"""

import argparse
import base64
import http.client
import multiprocessing
import os
import socket
import statistics
import threading
import time
import urllib.parse

CAL = "/calendars/{user}/heavy/"


def auth(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Client:
    def __init__(self, url, user, password, timeout=60):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.prefix = u.path.rstrip("/")
        self.auth = auth(user, password) if user else None
        self.timeout = timeout

    def request(self, method, path, body=None, headers=None, timeout=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        h = dict(headers or {})
        if self.auth:
            h["Authorization"] = self.auth
        if isinstance(body, str):
            body = body.encode()
        try:
            conn.request(method, self.prefix + path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return r.status, data
        finally:
            conn.close()


def event(uid, props):
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//heavy//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n{props}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def hostile_objects():
    pad = lambda n: "".join(f"X-PAD-{i}:{'p' * 30}\r\n" for i in range(n))
    minutes = [f"{2024}01{1 + m // 1440:02d}T{(m // 60) % 24:02d}{m % 60:02d}00Z" for m in range(0, 115_200 * 2, 2)]
    # Dates past 31 days are not valid day numbers: spread them over months.
    exdates = []
    for i in range(115_200):
        t = 1704067200 + 120 * i
        exdates.append(time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t)))
    exdate_lines = "".join("EXDATE:" + ",".join(exdates[i:i + 100]) + "\r\n" for i in range(0, len(exdates), 100))
    rdates = [time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(1704067200 + 600 * i)) for i in range(144_000)]
    rdate_lines = "".join("RDATE:" + ",".join(rdates[i:i + 100]) + "\r\n" for i in range(0, len(rdates), 100))
    del minutes
    return {
        "hourly100.ics": event("hourly100", "DTSTART:20240101T000000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=HOURLY\r\n" + pad(100)),
        "hourly1000.ics": event("hourly1000", "DTSTART:20240101T000000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=HOURLY\r\n" + pad(1000)),
        "exdates.ics": event("exdates", "DTSTART:20240101T000000Z\r\nDURATION:PT1M\r\nRRULE:FREQ=MINUTELY\r\n" + exdate_lines),
        "rdates.ics": event("rdates", "DTSTART:20240101T000000Z\r\nDURATION:PT5M\r\n" + rdate_lines),
        "secondly.ics": event("secondly", "DTSTART:20240101T000000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\n"),
    }


def expand(start, end):
    return (
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>'
        f'<C:calendar-data><C:expand start="{start}" end="{end}"/></C:calendar-data></D:prop>'
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>'
    )


def freebusy(start, end):
    return (
        '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f'<C:time-range start="{start}" end="{end}"/></C:free-busy-query>'
    )


HEAVY = [
    ("expand 6 years", lambda cal: ("REPORT", cal, expand("20240101T000000Z", "20300101T000000Z"))),
    ("expand 100 years", lambda cal: ("REPORT", cal, expand("20000101T000000Z", "21000101T000000Z"))),
    ("expand 1 week", lambda cal: ("REPORT", cal, expand("20240101T000000Z", "20240108T000000Z"))),
    ("expand 1 day", lambda cal: ("REPORT", cal, expand("20240301T000000Z", "20240302T000000Z"))),
    ("free-busy 1 year", lambda cal: ("REPORT", cal, freebusy("20240101T000000Z", "20250101T000000Z"))),
    ("PUT 2M lines", lambda cal: ("PUT", cal + "lines.ics", event("lines", "DTSTART:20240101T000000Z\r\n" + "X:1\r\n" * 2_000_000))),
]


def give_up_after(url, user, password, method, path, body, seconds):
    """Send a request and close the connection after `seconds`."""
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port or 80))
    data = body.encode() if isinstance(body, str) else body
    head = (
        f"{method} {u.path.rstrip('/')}{path} HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: {auth(user, password)}\r\n"
        f"Depth: 1\r\nContent-Type: application/xml\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    s.sendall(head.encode() + data)
    s.settimeout(seconds)
    try:
        s.recv(1)
    except OSError:
        pass
    s.close()


def heavy_worker(n, url, user, password, cal, stop, queue, kinds):
    """Send the heavy requests in turn until `stop` (a monotonic time)."""
    # A real attacker's client does not run on the server's cores: here it
    # does, so it yields them to the server and to the probes.
    os.nice(19)
    heavy = Client(url, user, password, timeout=300)
    results = {}
    i = n
    while time.monotonic() < stop:
        name, build = kinds[i % len(kinds)]
        method, path, body = build(cal)
        t0 = time.monotonic()
        try:
            if i % 7 == 3:
                give_up_after(url, user, password, method, path, body, 1.0)
                status = "client gave up"
            else:
                status, _ = heavy.request(method, path, body, {"Depth": "1", "Content-Type": "application/xml"})
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            status = type(e).__name__
        results.setdefault(name, []).append((status, time.monotonic() - t0))
        i += 1
    queue.put(results)


def rss(pid):
    try:
        fields = dict(
            line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":" in line
        )
        return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024
    except OSError:
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--other-user", required=True)
    p.add_argument("--other-password", required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--only", help="comma-separated names of the heavy requests to send (default: all)")
    a = p.parse_args()
    kinds = [h for h in HEAVY if not a.only or h[0] in a.only.split(",")]

    heavy = Client(a.url, a.user, a.password, timeout=300)
    other = Client(a.url, a.other_user, a.other_password)
    anon = Client(a.url, None, None)
    cal = CAL.format(user=a.user)
    heavy.request("MKCALENDAR", cal)
    for name, body in hostile_objects().items():
        status, text = heavy.request("PUT", cal + name, body, {"Content-Type": "text/calendar"})
        print(f"setup PUT {name} ({len(body) // 1024} KiB): {status}")
    probe_path = f"/calendars/{a.other_user}/default/probe.ics"
    status, _ = other.request("PUT", probe_path, event("probe", "DTSTART:20240101T100000Z\r\n"), {"Content-Type": "text/calendar"})
    print(f"setup PUT probe: {status}")

    stop = time.monotonic() + a.seconds
    # Heavy workers are processes, so that the probes (in this process)
    # never wait for the interpreter lock behind a 10 MB body.
    queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=heavy_worker, args=(n, a.url, a.user, a.password, cal, stop, queue, kinds))
        for n in range(a.workers)
    ]
    for w in workers:
        w.start()

    probes = {"/health": [], "other user's GET": []}
    memory = []

    def prober():
        while time.monotonic() < stop:
            for label, client, path in (("/health", anon, "/health"), ("other user's GET", other, probe_path)):
                t0 = time.monotonic()
                status, _ = client.request("GET", path)
                probes[label].append((status, (time.monotonic() - t0) * 1000))
            if a.pid:
                m = rss(a.pid)
                if m:
                    memory.append(m)
            time.sleep(0.05)

    probe = threading.Thread(target=prober)
    probe.start()
    probe.join()
    results = {}
    for _ in workers:
        for name, runs in queue.get().items():
            results.setdefault(name, []).extend(runs)
    for w in workers:
        w.join()

    print(f"\n{a.workers} heavy workers for {a.seconds:.0f} s")
    for name, runs in sorted(results.items()):
        statuses = {}
        for status, _ in runs:
            statuses[status] = statuses.get(status, 0) + 1
        slowest = max(d for _, d in runs)
        print(f"  {name:18} {len(runs):4} requests, statuses {statuses}, slowest {slowest:.1f} s")
    for label, samples in probes.items():
        ms = sorted(d for _, d in samples)
        bad = sum(1 for s, _ in samples if s != 200)
        if not ms:
            continue
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        print(
            f"  {label:18} {len(ms)} probes, non-200: {bad}, median {statistics.median(ms):.1f} ms, "
            f"p99 {p99:.1f} ms, max {ms[-1]:.1f} ms"
        )
    if memory:
        print(f"  server memory: peak resident {max(h for _, h in memory)} MiB, last {memory[-1][0]} MiB")


if __name__ == "__main__":
    main()
