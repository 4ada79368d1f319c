#!/usr/bin/env python3
"""smtpc.py - a small SMTP client for the e2e tests (Python's smtplib).

Sends COUNT messages, each in its own SMTP session (EHLO, optional
STARTTLS, optional AUTH PLAIN, MAIL, RCPT..., DATA, QUIT) or all in one
(--one-session), to one loopback host:port, optionally from several
loopback source addresses (--sources), and prints what the client saw,
one line per message, then a summary line:

  msg 3 id=<e2e-TAG-3@e2e.test> mail=250 rcpt=250,250,452 data=250 result=accepted reply="250 2.0.0 Ok: queued as 4Xb..."
  summary tag=TAG sent=30 accepted=10 refused=20 min_ms=4 p50_ms=6 errors=0

(min_ms and p50_ms: the fastest and the median message, MAIL to the end
of DATA, in milliseconds)

result is "accepted" (the end of DATA got 2xx), "refused" (EHLO,
STARTTLS, AUTH, MAIL, every RCPT, DATA or the end of DATA got a 4xx/5xx,
which reply= quotes) or "error" (anything else: a dropped connection, a
timeout). A refused recipient of an accepted message is also printed on
a line of its own:

  rcpt 3 to=<u6@e2e.test> reply="452 4.5.3 Too many recipients ..."

Every Message-ID is unique: <e2e-TAG-N@e2e.test>. --numbers sends only
the given N (a retry of the ones that were refused, same Message-IDs);
--same-body gives every message one body (a wave: one text from many
accounts); --header-to N writes N addresses into To: (the envelope keeps
the --to recipients: seed 003's header fan-out). Exit status 0 unless
the arguments are wrong.
"""
import argparse
import base64
import smtplib
import time
import ssl
import sys

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--auth", help="LOGIN:PASSWORD, sent as AUTH PLAIN")
p.add_argument("--from", dest="sender", required=True)
p.add_argument("--to", action="append", required=True,
               help="a recipient; repeat for more")
p.add_argument("--count", type=int, default=1)
p.add_argument("--first", type=int, default=1, help="number of the first")
p.add_argument("--numbers", help="send only these N (comma-separated)")
p.add_argument("--tag", required=True, help="makes the Message-IDs unique")
p.add_argument("--same-body", action="store_true",
               help="one body for every message (and every run)")
p.add_argument("--header-to", type=int, default=0,
               help="N addresses in To: (hdr-1@remote.test...)")
p.add_argument("--header-from",
               help="the From: header (default: the envelope sender)")
p.add_argument("--helo", default="client.e2e.test")
p.add_argument("--timeout", type=float, default=60)
p.add_argument("--one-session", action="store_true",
               help="all messages in one SMTP session (RSET after a refusal)")
p.add_argument("--sources", type=int, default=1,
               help="connect from 127.0.0.1..127.0.0.SOURCES in turn")
p.add_argument("--starttls", action="store_true",
               help="STARTTLS before AUTH (the certificate is not checked)")
a = p.parse_args()
if not 1 <= a.sources <= 254:
    sys.exit("smtpc: --sources must be 1..254")

if a.host not in ("127.0.0.1", "::1", "localhost"):
    sys.exit("smtpc: loopback only, not %s" % a.host)


def text_of(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "%d %s" % (code, " ".join(text.split()))


def session():
    """a new SMTP session, after EHLO, STARTTLS and AUTH; (smtp, None) or
    (None, the refusal)"""
    src = None
    if a.sources > 1:
        session.n += 1
        src = ("127.0.0.%d" % (1 + session.n % a.sources), 0)
    s = smtplib.SMTP(a.host, a.port, local_hostname=a.helo,
                     timeout=a.timeout, source_address=src)
    s.ehlo()
    if a.starttls:
        s.starttls(context=ssl._create_unverified_context())
        s.ehlo()
    if a.auth:
        user, pw = a.auth.split(":", 1)
        resp = base64.b64encode(("\0%s\0%s" % (user, pw)).encode())
        code, text = s.docmd("AUTH", "PLAIN " + resp.decode())
        if code != 235:
            close(s)
            return None, (code, text)
    return s, None


session.n = 0


def close(s):
    try:
        s.quit()
    except (smtplib.SMTPException, OSError):
        s.close()


def one(s, n, out):
    """send message n in session s, fill out; the result"""
    msgid = "<e2e-%s-%d@e2e.test>" % (a.tag, n)
    out.update(id=msgid, mail="-", rcpt="-", data="-")
    to = a.to
    if a.header_to:
        to = ["hdr-%d@remote.test" % i for i in range(1, a.header_to + 1)]
    text = "message %d of test %s\r\n" % (n, a.tag)
    if a.same_body:
        text = "The same text, sent by many accounts.\r\n"
    body = ("From: %s\r\nTo: %s\r\nSubject: e2e %s %d\r\n"
            "Message-ID: %s\r\n\r\n%s" %
            (a.header_from or a.sender, ",\r\n ".join(to), a.tag, n,
             msgid, text))
    code, text = s.mail(a.sender)
    out["mail"] = str(code)
    if code >= 300:
        out["reply"] = text_of(code, text)
        return "refused"
    codes, ok, last = [], 0, None
    for r in a.to:
        code, text = s.rcpt(r)
        codes.append(str(code))
        if code < 300:
            ok += 1
        else:
            last = text_of(code, text)
            out.setdefault("refused_rcpts", []).append((r, last))
    out["rcpt"] = ",".join(codes)
    if ok == 0:
        out["reply"] = last
        return "refused"
    try:
        code, text = s.data(body.encode())
    except smtplib.SMTPDataError as e:
        out["data"] = "354:%d" % e.smtp_code
        out["reply"] = text_of(e.smtp_code, e.smtp_error)
        return "refused"
    out["data"] = str(code)
    out["reply"] = text_of(code, text)
    return "accepted" if code < 300 else "refused"


counts = {"accepted": 0, "refused": 0, "error": 0}
took = []
s = None
numbers = range(a.first, a.first + a.count)
if a.numbers:
    numbers = [int(x) for x in a.numbers.split(",")]
for n in numbers:
    out = {}
    try:
        if s is None:
            s, refusal = session()
        if s is None:
            res = "refused"
            out.update(id="<e2e-%s-%d@e2e.test>" % (a.tag, n),
                       mail="auth:%d" % refusal[0],
                       reply=text_of(*refusal))
        else:
            t0 = time.monotonic()
            res = one(s, n, out)
            took.append(time.monotonic() - t0)
            if a.one_session and res == "refused":
                s.rset()
    except smtplib.SMTPResponseException as e:
        # a 4xx/5xx where smtplib wanted a success (EHLO, STARTTLS): the
        # client did read a refusal
        res = "refused" if 400 <= e.smtp_code < 600 else "error"
        out.setdefault("id", "<e2e-%s-%d@e2e.test>" % (a.tag, n))
        out["reply"] = text_of(e.smtp_code, e.smtp_error)
        if s is not None:
            s.close()
        s = None
    except (smtplib.SMTPException, OSError) as e:
        res = "error"
        out.setdefault("reply", "%s: %s" % (type(e).__name__, e))
        if s is not None:
            s.close()
        s = None
    if s is not None and not a.one_session:
        close(s)
        s = None
    counts[res] += 1
    print('msg %d id=%s mail=%s rcpt=%s data=%s result=%s reply="%s"' %
          (n, out.get("id", "-"), out.get("mail", "-"), out.get("rcpt", "-"),
           out.get("data", "-"), res, out.get("reply", "")))
    for r, t in out.get("refused_rcpts", []):
        print('rcpt %d to=<%s> reply="%s"' % (n, r, t))
    sys.stdout.flush()
if s is not None:
    close(s)
took.sort()
print("summary tag=%s sent=%d accepted=%d refused=%d min_ms=%d p50_ms=%d "
      "errors=%d" %
      (a.tag, len(numbers), counts["accepted"], counts["refused"],
       1000 * took[0] if took else 0,
       1000 * took[len(took) // 2] if took else 0, counts["error"]))
