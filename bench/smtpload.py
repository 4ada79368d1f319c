#!/usr/bin/env python3
"""smtpload.py - SMTP submission load for bench/run --mta (bench/mta.sh).

N client processes (one per connection, so Python's lock is no limit),
each running SMTP sessions one after another against 127.0.0.1:PORT:
EHLO, STARTTLS (--starttls; the certificate is not checked), EHLO, AUTH
PLAIN as one of the logins, then up to --per-session messages (MAIL,
--rcpts RCPT, DATA), QUIT. The logins are cycled over the sessions of
every connection, so --logins L spreads the load over L senders. Each
message: From: the login, To: --to addresses, a unique Message-ID and a
--body byte body that differs per message (its first line). The run lasts
--duration seconds (or --messages per connection); a message's latency is
MAIL to the reply to the end of DATA.

Prints one JSON line: messages (accepted), refused, errors, seconds,
msg_s, p50_ms, p99_ms, max_ms, replies (the last distinct refusal and
error texts). Loopback only. Logins are LOGIN-PREFIX<n>@DOMAIN, n from
1, password pw-LOGIN (as e2e/mta.sh's sasldb makes them).
"""
import argparse
import base64
import json
import multiprocessing as mp
import smtplib
import ssl
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--connections", "-c", type=int, default=4)
p.add_argument("--duration", type=float, default=10)
p.add_argument("--messages", type=int, default=0,
               help="per connection, instead of --duration")
p.add_argument("--per-session", type=int, default=10)
p.add_argument("--logins", type=int, default=20)
p.add_argument("--login-prefix", default="user")
p.add_argument("--domain", default="bench.test")
p.add_argument("--rcpts", type=int, default=3)
p.add_argument("--to", type=int, default=5)
p.add_argument("--body", type=int, default=2048)
p.add_argument("--starttls", action="store_true")
p.add_argument("--tag", default="b", help="makes Message-IDs unique")
p.add_argument("--timeout", type=float, default=60)
a = p.parse_args()


def text_of(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "%d %s" % (code, " ".join(text.split()))


def body_of(n, login, msgid, to_hdr):
    head = ("From: %s\r\nTo: %s\r\nSubject: bench %d\r\nMessage-ID: %s\r\n"
            "Date: %s\r\n\r\n" % (login, to_hdr, n, msgid,
                                  time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                                time.gmtime())))
    first = "message %d of %s\r\n" % (n, a.tag)
    line = "abcdefghijklmnopqrstuvwxyz0123456789" * 2 + "abcd\r\n"  # 78 bytes
    rest = max(a.body - len(first), 0)
    text = first + line * (rest // len(line)) + "x" * (rest % len(line))
    return (head + text).encode()


def worker(w, t_end, q):
    lat, refused, errors, replies = [], 0, 0, {}
    to_hdr = ",\r\n ".join("rcpt%d@dest.test" % (i + 1) for i in range(a.to))
    rcpts = ["rcpt%d@dest.test" % (i + 1) for i in range(a.rcpts)]
    ctx = ssl._create_unverified_context()
    sess, n = 0, 0

    def more():
        if a.messages:
            return n < a.messages
        return time.monotonic() < t_end

    while more():
        login = "%s%d@%s" % (a.login_prefix,
                             (w + sess * a.connections) % a.logins + 1,
                             a.domain)
        sess += 1
        s = None
        try:
            s = smtplib.SMTP("127.0.0.1", a.port, local_hostname="client.bench.test",
                             timeout=a.timeout)
            s.ehlo()
            if a.starttls:
                s.starttls(context=ctx)
                s.ehlo()
            resp = base64.b64encode(("\0%s\0pw-%s" % (login, login)).encode())
            code, text = s.docmd("AUTH", "PLAIN " + resp.decode())
            if code != 235:
                raise smtplib.SMTPResponseException(code, text)
            for _ in range(a.per_session):
                if not more():
                    break
                n += 1
                msgid = "<%s-%d-%d@bench.test>" % (a.tag, w, n)
                data = body_of(n, login, msgid, to_hdr)
                t0 = time.perf_counter()
                code, text = s.mail(login)
                ok = code < 300
                if ok:
                    good = 0
                    for r in rcpts:
                        c, t = s.rcpt(r)
                        good += c < 300
                        if c >= 300:
                            code, text = c, t
                    ok = good > 0
                if ok:
                    try:
                        code, text = s.data(data)
                        ok = code < 300
                    except smtplib.SMTPDataError as e:
                        code, text, ok = e.smtp_code, e.smtp_error, False
                t1 = time.perf_counter()
                if ok:
                    lat.append(t1 - t0)
                else:
                    refused += 1
                    replies[text_of(code, text)] = time.time()
                    s.rset()
            s.quit()
        except (smtplib.SMTPException, OSError) as e:
            errors += 1
            replies["%s: %s" % (type(e).__name__, e)] = time.time()
            if s is not None:
                s.close()
            time.sleep(0.05)
    q.put((lat, refused, errors, replies))


def main():
    if a.connections < 1 or a.per_session < 1 or a.logins < 1:
        sys.exit("smtpload: --connections, --per-session, --logins >= 1")
    q = mp.Queue()
    t0 = time.monotonic()
    t_end = t0 + a.duration
    ps = [mp.Process(target=worker, args=(w, t_end, q))
          for w in range(a.connections)]
    for x in ps:
        x.start()
    res = [q.get() for _ in ps]
    secs = time.monotonic() - t0
    for x in ps:
        x.join()
    lat = sorted(x for r in res for x in r[0])
    replies = {}
    for r in res:
        replies.update(r[3])

    def pct(f):
        if not lat:
            return 0.0
        i = min(len(lat) - 1, max(0, int(f * len(lat) + 0.999999) - 1))
        return lat[i] * 1e3

    print(json.dumps({
        "connections": a.connections, "messages": len(lat),
        "refused": sum(r[1] for r in res), "errors": sum(r[2] for r in res),
        "seconds": round(secs, 3),
        "msg_s": round(len(lat) / secs, 1) if secs > 0 else 0,
        "p50_ms": round(pct(.5), 2), "p99_ms": round(pct(.99), 2),
        "max_ms": round(pct(1), 2),
        "replies": [k for k, _ in sorted(replies.items(),
                                         key=lambda kv: -kv[1])][:5]}))


if __name__ == "__main__":
    main()
