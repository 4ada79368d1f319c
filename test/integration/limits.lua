-- limits.lua - sluice's limits over the real milter protocol (miltertest).
-- Globals from -D: socket; early ("1": refused at MAIL, "0": at EOM);
-- observe ("1": everything accepted).
-- Class under test: messages 3/1h, recipients 10/1h, max_recipients 4.

dofile(common)	-- check, accepted, open

-- send one message; returns "ok", "mail" or "eom" (where it was refused)
-- and the number of recipients refused
local function send(c, login, from, nrcpt)
	if login ~= nil then
		mt.macro(c, SMFIC_MAIL, "{auth_authen}", login,
		    "{auth_type}", "PLAIN")
	end
	check(mt.mailfrom(c, from) == nil, "mailfrom")
	local r = mt.getreply(c)
	if r == SMFIR_ACCEPT and login == nil then
		return "ok", 0	-- inbound: sluice is done with it at MAIL
	end
	if not accepted(r) then
		check(r == SMFIR_REPLYCODE, "MAIL refusal without an SMTP reply")
		mt.abort(c)
		return "mail", 0
	end
	local refused = 0
	for i = 1, nrcpt do
		mt.macro(c, SMFIC_RCPT, "i", "QID" .. tostring(i))
		check(mt.rcptto(c, "<rcpt" .. i .. "@dest.example>") == nil,
		    "rcptto")
		if not accepted(mt.getreply(c)) then
			refused = refused + 1
		end
	end
	-- stages the filter negotiated away are not sent (as an MTA does)
	if not mt.test_option(c, SMFIP_NOHDRS) then
		check(mt.header(c, "From", from) == nil, "header")
		check(mt.header(c, "Subject", "test") == nil, "header")
	end
	r = finish(c, "hello\r\n")
	if accepted(r) then
		return "ok", refused
	end
	-- a refusal comes with sluice's own reply (smfi_setreply); its text
	-- is asserted from sluice-bench in milter_limits.sh: miltertest 2.11's
	-- MT_SMTPREPLY check does not see REPLYCODE answers
	check(r == SMFIR_REPLYCODE, "EOM refusal without an SMTP reply")
	return "eom", refused
end

local c = open("192.0.2.1")

-- alice: three messages go through, the fourth is refused with 4xx
for i = 1, 3 do
	local where = send(c, "alice@example.test", "<alice@example.test>", 2)
	check(where == "ok", "alice message " .. i .. " refused at " .. where)
end
local where = send(c, "alice@example.test", "<alice@example.test>", 2)
if observe == "1" then
	check(where == "ok", "observe mode refused a message")
elseif early == "1" then
	check(where == "mail", "4th message not refused at MAIL: " .. where)
else
	check(where == "eom", "4th message not refused at EOM: " .. where)
end
-- the login in another case is the same account
where = send(c, "ALICE@Example.TEST", "<alice@example.test>", 1)
check(where ~= "ok" or observe == "1", "case-changed login escaped the limit")

-- bob: the fifth recipient of one message is refused (452), others pass
local w, refused = send(c, "bob@example.test", "<bob@example.test>", 5)
check(w == "ok", "bob message 1 refused at " .. w)
if observe == "1" then
	check(refused == 0, "observe mode refused a recipient")
else
	check(refused == 1, "expected 1 refused recipient, got " .. refused)
end
-- bob: 4 + 4 recipients fit in 10/1h; 4 more do not (caught at EOM)
w = send(c, "bob@example.test", "<bob@example.test>", 4)
check(w == "ok", "bob message 2 refused at " .. w)
w = send(c, "bob@example.test", "<bob@example.test>", 4)
if observe ~= "1" then
	check(w == "eom", "bob's recipients over 10/1h not refused at EOM")
end
mt.disconnect(c)

-- inbound: 20 unauthenticated messages from and to carol's address
local inb = open("198.51.100.7")
for i = 1, 20 do
	local wi = send(inb, nil, "<carol@example.test>", 4)
	check(wi == "ok", "inbound message " .. i .. " refused")
end
mt.disconnect(inb)

-- carol's own quota is untouched by all that inbound mail (seed 000)
c = open("192.0.2.2")
for i = 1, 3 do
	w = send(c, "carol@example.test", "<carol@example.test>", 1)
	check(w == "ok", "carol message " .. i .. " refused: inbound counted")
end
mt.disconnect(c)
mt.echo("limits.lua: all checks passed")
