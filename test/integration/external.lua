-- external.lua - external and internal recipients over the real milter
-- protocol (miltertest). Globals from -D: socket.
-- Config under test: local_domains example.test, .corp.example; class
-- default: recipients 100/1h, external_recipients 5/1h,
-- internal_recipients 50/1h; early_check yes.

dofile(common)	-- check, accepted, open

-- send one message from login to the recipients; returns "ok", "mail"
-- or "eom" (where it was refused)
local function send(c, login, rcpts)
	mt.macro(c, SMFIC_MAIL, "{auth_authen}", login, "{auth_type}", "PLAIN")
	check(mt.mailfrom(c, "<" .. login .. ">") == nil, "mailfrom")
	if not accepted(mt.getreply(c)) then
		mt.abort(c)
		return "mail"
	end
	for i, r in ipairs(rcpts) do
		mt.macro(c, SMFIC_RCPT, "i", "QID" .. tostring(i))
		check(mt.rcptto(c, r) == nil, "rcptto")
		check(accepted(mt.getreply(c)), "recipient " .. r .. " refused")
	end
	if not mt.test_option(c, SMFIP_NOHDRS) then
		check(mt.header(c, "From", "<" .. login .. ">") == nil, "header")
	end
	local r = finish(c, "hello " .. #rcpts .. "\r\n")
	if accepted(r) then
		return "ok"
	end
	check(r == SMFIR_REPLYCODE, "EOM refusal without an SMTP reply")
	return "eom"
end

local ext3 = { "<a@dest.example>", "<b@dest.example>", "<c@other.example>" }
local ext2 = { "<d@dest.example>", "<e@corp.example>" }	-- not below it
local int4 = { "<bob@example.test>", "<Carol@EXAMPLE.TEST>",
    "<dave@sales.corp.example>", "<postmaster>" }

local c = open("192.0.2.1")
-- alice: 5 external recipients fit, the 6th is refused at end of message
check(send(c, "alice@example.test", ext3) == "ok", "alice: 3 external")
check(send(c, "alice@example.test", ext2) == "ok", "alice: 2 more external")
check(send(c, "alice@example.test", { "<f@dest.example>" }) == "eom",
    "alice: the 6th external recipient was not refused")
-- far under her 100 recipients an hour, internal mail still flows, and
-- is not refused at MAIL either
for i = 1, 3 do
	check(send(c, "alice@example.test", int4) == "ok",
	    "alice: internal message " .. i .. " refused")
end
-- one external recipient in an internal message: the message is refused
check(send(c, "alice@example.test", { "<bob@example.test>",
    "<g@dest.example>" }) == "eom", "alice: mixed message not refused")
check(send(c, "alice@example.test", int4) == "ok",
    "alice: internal mail after the refusal")
mt.disconnect(c)

-- bob, another account: his own external quota
c = open("192.0.2.2")
check(send(c, "bob@example.test", ext3) == "ok", "bob: 3 external")
check(send(c, "bob@example.test", ext2) == "ok", "bob: 2 more external")
mt.disconnect(c)
mt.echo("external.lua: all checks passed")
