#!/usr/bin/env python3
"""rejsink.py - an SMTP sink that refuses some recipients, for the delivery
feedback test (e2e_feedback.sh): RCPT TO:<bad...@...> gets "550 5.1.1 User
unknown", <slow...@...> "451 4.7.1 Try again later", any other 250; DATA
is read and dropped. bookworm's smtp-sink refuses whole commands only
(-f/-r), not chosen recipients, so it cannot give 5.1.1 for some.

usage: rejsink.py PORT  (listens on 127.0.0.1; one thread per client;
logs one line per RCPT to stdout)"""
import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write((text + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self.reply("220 rejsink.e2e.test ESMTP")
        ok = 0
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 rejsink.e2e.test")
            elif verb == "MAIL":
                ok = 0
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                addr = cmd.split(":", 1)[1].strip().strip("<>").split(">")[0]
                local = addr.split("@")[0].lower()
                if local.startswith("bad"):
                    self.reply("550 5.1.1 <%s>: Recipient address "
                               "rejected: User unknown" % addr)
                    what = "bounced"
                elif local.startswith("slow"):
                    self.reply("451 4.7.1 <%s>: Try again later" % addr)
                    what = "deferred"
                else:
                    ok += 1
                    self.reply("250 2.1.5 Ok")
                    what = "ok"
                print("rcpt %s %s" % (addr, what), flush=True)
            elif verb == "DATA":
                if ok == 0:
                    self.reply("554 5.5.1 No valid recipients")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                while True:
                    d = self.rfile.readline()
                    if not d or d in (b".\r\n", b".\n"):
                        break
                self.reply("250 2.0.0 Ok: queued")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            elif verb in ("RSET", "NOOP"):
                self.reply("250 2.0.0 Ok")
            else:
                self.reply("502 5.5.2 Error: command not recognized")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
