dnl contrib/sendmail/sluice.m4 - what sluice needs in sendmail.mc: add
dnl these lines after OSTYPE() and before MAILER(), rebuild sendmail.cf
dnl (Debian: sendmailconfig, or make -C /etc/mail), restart sendmail.
dnl The e2e test (test/integration/e2e_sendmail.sh) includes this file as
dnl it is.
dnl
dnl Every message received over SMTP goes through sluice. F=T: while
dnl sluice cannot be reached, mail is tempfailed (4xx), never accepted
dnl unchecked. T=: give up on a reply after 30 s (S: connect, R: read,
dnl E: whole end of message) - the tempfail then applies as well.
dnl
dnl The socket: sluice.conf "socket unix:/run/sluice/sluice.sock", a
dnl directory owned by sluice, not group- or world-writable (Sendmail
dnl refuses a socket below such a directory, /tmp for one); Sendmail
dnl connects as root. Prefer it to inet: over TCP the milter's small
dnl writes wait on Nagle and delayed ACKs - through Sendmail 8.17 here
dnl about 0.2 s a message over inet:PORT@127.0.0.1, against a few ms over
dnl this unix socket (doc/e2e.md). Across hosts, or for sluice in another
dnl container: S=inet:8890@127.0.0.1 (sluice.conf: socket inet:8890@127.0.0.1).
INPUT_MAIL_FILTER(`sluice', `S=unix:/run/sluice/sluice.sock, F=T, T=S:30s;R:30s;E:1m')
dnl {auth_authen} (the SASL login) at MAIL FROM is what sluice counts by;
dnl Sendmail's default list already has it, this only makes it explicit.
define(`confMILTER_MACROS_ENVFROM', confMILTER_MACROS_ENVFROM`, {auth_authen}')
