#!/bin/bash
# log_fields.sh - issue 12 item 6: a value that comes from a client (SASL
# login, envelope sender, trusted relay's header, queue id) never adds a
# field or a line to sluice's log: a log reader (fail2ban, a SIEM) that
# splits a decision line on spaces outside double quotes finds exactly the
# fields sluice wrote, each value read back whole (doc/sluice.8, LOG
# FORMAT).
. "$(dirname "$0")/lib.sh"

L1='mallory class=vip client=203.0.113.9 action=accept'
L2=$'eve\r\nsluice: Q: eom login=admin action=accept "x\\'
L3='rcpt class=vip hits=none'
ENV='mallory action=accept@example.test'
HDR='web user="vip" client=1.2.3.4'
QID='Q1 eom login=x'

write_config lf "store memory" "log_accepts yes" \
    "trusted_networks 192.0.2.0/24" "trusted_header X-Webmail-User" \
    'class default {' 'messages 100/1h' 'max_recipients 1' '}'
start_sluice lf
# the values as Lua strings (every byte as \ddd)
python3 - "$T/values.lua" "login1=$L1" "login2=$L2" "login3=$L3" \
    "envfrom=<$ENV>" "hdr=$HDR" "qid=$QID" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for a in sys.argv[2:]:
        k, v = a.split("=", 1)
        f.write('%s = "%s"\n' % (k, "".join("\\%d" % b for b in v.encode())))
PY
miltertest_run lf "$(dirname "$0")/log_fields.lua" "values=$T/values.lua"

# fields LINE_PATTERN - the keys of the one log line matching the
# pattern, space-separated, after its "QID: stage" prefix; and each value
# decoded, one "key=value" a line, into $T/values
fields() {
	python3 - "$T/lf.log" "$1" "$T/values" <<'PY'
import re, sys
log, pat, out = sys.argv[1:4]
lines = [l.rstrip("\n") for l in open(log, encoding="latin-1")
         if re.search(pat, l)]
if len(lines) != 1:
    sys.exit("%d lines match %s" % (len(lines), pat))
line = lines[0][len("sluice: "):]

def tokens(s):
    """split on spaces outside double quotes; decode \\" \\\\ \\xHH"""
    out, i = [], 0
    while i < len(s):
        if s[i] == " ":
            i += 1
            continue
        tok, raw = "", ""
        while i < len(s) and s[i] != " ":
            if s[i] == '"':
                i += 1
                while s[i] != '"':
                    if s[i] == "\\":
                        if s[i + 1] == "x":
                            tok += chr(int(s[i + 2:i + 4], 16))
                            i += 4
                            continue
                        i += 1
                    tok += s[i]
                    i += 1
                i += 1
            else:
                tok += s[i]
                i += 1
        out.append(tok)
    return out

t = tokens(line)
qid, stage, rest = t[0], t[1], t[2:]
assert qid.endswith(":"), qid
keys = [f.split("=", 1)[0] for f in rest]
with open(out, "w", encoding="latin-1") as f:
    f.write("qid=%s\n" % qid[:-1])
    for x in rest:
        f.write(x.replace("\r", "\\r").replace("\n", "\\n") + "\n")
print(stage, " ".join(keys))
PY
}

# expect_fields PATTERN KEYS WHAT - the line's stage and keys, exactly
expect_fields() {
	got=$(fields "$1") || fail "$3: $got"
	[ "$got" = "$2" ] || { grep -E -- "$1" "$T/lf.log" >&2;
	    fail "$3: fields \"$got\", expected \"$2\""; }
	pass "$3: $2"
}

# expect_value KEY VALUE WHAT - a decoded value of the last line read
expect_value() {
	grep -qxF -- "$1=$2" "$T/values" || { cat "$T/values" >&2;
	    fail "$3: $1 is not read back as \"$2\""; }
	pass "$3: $1 read back whole"
}

ACC='eom login origin class client rcpts addrs msg/1h action'
expect_fields 'login="mallory class=vip' "$ACC" "SASL login with spaces and ="
expect_value login "$L1" "SASL login with spaces and ="
expect_value qid "$QID" "queue id with spaces"
expect_value origin sasl "SASL login with spaces and ="
expect_value class default "SASL login with spaces and ="
expect_value client 198.51.100.7 "SASL login with spaces and ="
expect_value action accept "SASL login with spaces and ="
expect_fields 'login="eve' "$ACC" "SASL login with CR/LF, quote, backslash"
expect_value login 'eve\r\nsluice: Q: eom login=admin action=accept "x\' \
    "SASL login with CR/LF, quote, backslash"
grep -q '^sluice: Q: eom login=admin' "$T/lf.log" &&
    fail "a login made a log line of its own"
pass "no forged line: the CR/LF stayed inside the value"
expect_fields 'rcpt login="rcpt class' 'rcpt login origin class client rcpts action hits' \
    "the rcpt line of a hostile login"
expect_value login "$L3" "the rcpt line of a hostile login"
expect_fields 'via=local-sender' 'eom login origin class client via rcpts addrs msg/1h action' \
    "envelope sender (local submission) with spaces and ="
expect_value login "$ENV" "envelope sender"
expect_value origin envelope "envelope sender"
expect_fields 'via=trusted-header' 'eom login origin class client via rcpts addrs msg/1h action' \
    "trusted header value with spaces, = and quotes"
expect_value login "$HDR" "trusted header value"
expect_value origin header "trusted header value"
# a plain login is written as before: no quotes
expect_log lf 'NOQUEUE: eom login=plain@example\.test origin=sasl class=default client=198\.51\.100\.7 rcpts=1 ' \
    "plain values are written as before, unquoted"
stop_sluice lf
echo "log_fields: all passed"
