-- identity.lua - From: identities, trusted relays and local submission over
-- the real milter protocol (miltertest). Globals from -D: socket; scene:
--   "from"     SASL logins and their From: (identity_action from the config:
--              `action` says what to expect: "reject" or "tag")
--   "alias"    dave@ writes as dave.alias@ (`expect`: "eom" or "ok")
--   "trusted"  untrusted and trusted clients with and without the header
--   "local"    local submission without a client address;
--              `localmode` "key-by-sender" or "inbound"
-- Class under test: messages 3/1h, max_recipients 2.

dofile(common)	-- check, accepted, open

-- send one message: opts.login (SASL), opts.from (envelope), opts.hdrs
-- (list of {name, value}), opts.nrcpt; returns where it was refused
-- ("ok", "mail", "rcpt", "eom") and the EOM reply
local function send(c, opts)
	if opts.login ~= nil then
		mt.macro(c, SMFIC_MAIL, "{auth_authen}", opts.login,
		    "{auth_type}", "PLAIN")
	else
		mt.macro(c, SMFIC_MAIL, "{auth_type}", "")
	end
	check(mt.mailfrom(c, opts.from) == nil, "mailfrom")
	local r = mt.getreply(c)
	if r == SMFIR_ACCEPT then
		return "ok", r	-- sluice is done with it at MAIL (inbound)
	end
	if not accepted(r) then
		mt.abort(c)
		return "mail", r
	end
	local refused = false
	for i = 1, (opts.nrcpt or 1) do
		mt.macro(c, SMFIC_RCPT, "i", "QID" .. tostring(i))
		check(mt.rcptto(c, "<rcpt" .. i .. "@dest.example>") == nil,
		    "rcptto")
		if not accepted(mt.getreply(c)) then
			refused = true
		end
	end
	if refused then
		mt.abort(c)
		return "rcpt", nil
	end
	for _, h in ipairs(opts.hdrs or {}) do
		check(mt.header(c, h[1], h[2]) == nil, "header " .. h[1])
	end
	check(mt.header(c, "Subject", "test") == nil, "header")
	r = finish(c, "hello " .. tostring(math.random()) .. "\r\n")
	if accepted(r) then
		return "ok", r
	end
	check(r == SMFIR_REPLYCODE, "EOM refusal without an SMTP reply")
	return "eom", r
end

local function from(v)
	return { { "From", v } }
end

-- burst: 4 messages made by mk(i); the first `ok` pass, the others are
-- refused at EOM (never at MAIL or RCPT)
local function burst(c, who, ok, mk)
	for i = 1, 4 do
		local w = send(c, mk(i))
		if i <= ok then
			check(w == "ok", who .. " message " .. i .. " refused at "
			    .. w)
		else
			check(w == "eom", who .. " message " .. i .. " not "
			    .. "refused at EOM: " .. w)
		end
	end
end

if scene == "from" then
	local c = open("192.0.2.1", "client.example")
	local refusing = action == "reject"
	-- alice's own address, in any spelling, passes untouched
	local w = send(c, { login = "alice@example.test",
	    from = "<alice@example.test>",
	    hdrs = from("Alice <Alice@Example.TEST>") })
	check(w == "ok", "alice's own From: refused at " .. w)
	check(not mt.eom_check(c, MT_HDRADD, "X-Sluice-Flag"),
	    "alice's own From: tagged")
	-- someone else's address: caught
	w = send(c, { login = "alice@example.test",
	    from = "<alice@example.test>",
	    hdrs = from("\"alice@example.test\" <ceo@victim.example>") })
	if refusing then
		check(w == "eom", "foreign From: not refused at EOM: " .. w)
	else
		check(w == "ok", "foreign From: refused with action tag")
		check(mt.eom_check(c, MT_HDRADD, "X-Sluice-Flag",
		    "from: From: ceo@victim.example is not an address of this "
		    .. "account"), "foreign From: not tagged (or not so)")
	end
	-- two From: headers, both alice's: caught (several From values)
	w = send(c, { login = "alice@example.test",
	    from = "<alice@example.test>",
	    hdrs = { { "From", "alice@example.test" },
		     { "From", "alice@example.test" } } })
	check(w == (refusing and "eom" or "ok"), "two From: headers: " .. w)
	-- bob may use sales@ (identity map), and his own address
	w = send(c, { login = "bob@example.test", from = "<bob@example.test>",
	    hdrs = from("Sales <sales@example.test>") })
	check(w == "ok", "bob's allowed identity refused at " .. w)
	check(not mt.eom_check(c, MT_HDRADD, "X-Sluice-Flag"),
	    "bob's allowed identity tagged")
	w = send(c, { login = "bob@example.test", from = "<bob@example.test>",
	    hdrs = from("bob@example.test, sales@example.test") })
	check(w == "ok", "bob's two allowed identities refused at " .. w)
	-- a login that is not an address and not in the map: not checked
	w = send(c, { login = "carol", from = "<carol@example.test>",
	    hdrs = from("anyone@anywhere.example") })
	check(w == "ok", "an unchecked login refused at " .. w)
	mt.disconnect(c)
elseif scene == "alias" then
	-- dave writes as dave.alias@: `expect` says "eom" (refused) or "ok"
	local c = open("192.0.2.1", "client.example")
	local w = send(c, { login = "dave@example.test",
	    from = "<dave@example.test>",
	    hdrs = from("Dave <dave.alias@example.test>") })
	check(w == expect, "dave.alias@: " .. w .. ", expected " .. expect)
	mt.disconnect(c)
elseif scene == "trusted" then
	-- a trusted header from an untrusted client: ignored, mail inbound
	local c = open("198.51.100.7", "client.example")
	for i = 1, 6 do
		local w = send(c, { from = "<forged@example.test>", nrcpt = 2,
		    hdrs = { { "X-Webmail-User", "dave@example.test" },
			     { "From", "dave@example.test" } } })
		check(w == "ok", "untrusted message " .. i .. " refused at " .. w)
	end
	mt.disconnect(c)
	-- from a trusted client, the header keys the counting (3/1h)
	c = open("192.0.2.10", "webmail.example")
	burst(c, "webuser1", 3, function(i)
		return { from = "<bounce-" .. i .. "@example.test>",
		    hdrs = { { "X-Webmail-User", "WebUser1" },
			     { "From", "webuser1@example.test" } } }
	end)
	-- another header user on the same relay has its own quota
	local w = send(c, { from = "<x@example.test>", hdrs = {
	    { "X-Webmail-User", "webuser2" }, { "From", "w2@example.test" } } })
	check(w == "ok", "webuser2 refused at " .. w)
	-- trusted, no header: keyed by the envelope sender
	burst(c, "cron", 3, function()
		return { from = "<Cron@Example.TEST>",
		    hdrs = from("cron@example.test") }
	end)
	-- and never refused at RCPT, even over max_recipients: at EOM
	w = send(c, { from = "<list@example.test>", nrcpt = 5,
	    hdrs = { { "X-Webmail-User", "webuser3" } } })
	check(w == "eom", "5 recipients over the cap not refused at EOM: " .. w)
	mt.disconnect(c)
elseif scene == "local" then
	-- a connection without a client address (an unknown family); the
	-- Postfix form, localhost [127.0.0.1] port 0, is sent by sluice-bench
	-- (miltertest always sends port 12345)
	local c = open("unspec", "localhost")
	local inbound = localmode == "inbound"
	-- 5 recipients, cap 2: refused at EOM (never at RCPT), not charged
	burst(c, "local over the cap", inbound and 4 or 0, function()
		return { from = "<www-data@example.test>", nrcpt = 5,
		    hdrs = from("www-data@example.test") }
	end)
	-- then the messages window: 3 pass, the 4th is refused at EOM
	burst(c, "local", inbound and 4 or 3, function()
		return { from = "<www-data@example.test>", nrcpt = 2,
		    hdrs = from("www-data@example.test") }
	end)
	mt.disconnect(c)
end
mt.echo("identity.lua " .. scene .. ": all checks passed")
