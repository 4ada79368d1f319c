-- log_fields.lua - hostile values over the real milter protocol
-- (miltertest): SASL logins, an envelope sender, a trusted relay's login
-- header and a queue id holding spaces, '=', quotes, backslashes and
-- CR/LF. log_fields.sh reads the log lines they make. Globals from -D:
-- socket; values, a Lua file (written by log_fields.sh: -D cannot carry
-- spaces) setting login1, login2, login3 (SASL logins), envfrom (a local
-- submission's envelope sender), hdr (the trusted header's value), qid.

dofile(common)	-- check, accepted, open
dofile(values)

-- send - one message; returns the EOM (or RCPT/MAIL) reply
local function send(c, o)
	if o.login ~= nil then
		mt.macro(c, SMFIC_MAIL, "{auth_authen}", o.login,
		    "{auth_type}", "PLAIN", "i", o.qid or "")
	else
		mt.macro(c, SMFIC_MAIL, "{auth_type}", "", "i", o.qid or "")
	end
	check(mt.mailfrom(c, o.from or "<x@example.test>") == nil, "mailfrom")
	local r = mt.getreply(c)
	if not accepted(r) then
		mt.abort(c)
		return r
	end
	for i = 1, (o.nrcpt or 1) do
		check(mt.rcptto(c, "<r" .. i .. "@dest.example>") == nil, "rcpt")
		r = mt.getreply(c)
	end
	for _, h in ipairs(o.hdrs or {}) do
		check(mt.header(c, h[1], h[2]) == nil, "header " .. h[1])
	end
	check(mt.header(c, "Subject", "test") == nil, "header")
	return finish(c, "hello\r\n")
end

-- SASL: a login made of fields, accepted (log_accepts), with a queue id
-- made of fields too; then one with CR/LF and a forged second line
local c = open("198.51.100.7", "client.example")
check(accepted(send(c, { login = login1, qid = qid })), "login1 refused")
check(accepted(send(c, { login = login2 })), "login2 refused")
check(accepted(send(c, { login = "plain@example.test" })), "plain refused")
-- over max_recipients 1 at RCPT: the rcpt line
send(c, { login = login3, nrcpt = 2 })
mt.disconnect(c)

-- local submission (no client address): keyed by the envelope sender
c = open("unspec", "localhost")
check(accepted(send(c, { from = envfrom })), "local sender refused")
mt.disconnect(c)

-- a trusted relay: keyed by its login header
c = open("192.0.2.10", "webmail.example")
check(accepted(send(c, { from = "<w@example.test>",
    hdrs = { { "X-Webmail-User", hdr } } })), "header login refused")
mt.disconnect(c)
