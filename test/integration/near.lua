-- near.lua - near-duplicate bodies over the real milter protocol
-- (miltertest). Globals from -D: socket; limit (the class's near_repeats
-- COUNT); login.
-- One login sends 2 * limit messages of one ~150-word text that differ
-- by the greeting's name and a random-looking reference token: the first
-- `limit` pass, the others are refused at EOM (near_action tempfail).
-- Then unrelated texts from the same login pass. No two bodies are
-- identical, so the exact "repeats" detector never fires.

dofile(common)	-- check, accepted, open

local TEXT = [[
We are writing to let you know that your mailbox has reached the storage
limit set by the administrator of this service. Messages sent to you may
be returned to their senders until you free some space or upgrade your
plan. To keep receiving mail without interruption please confirm your
account details within the next two days by following the secure link
below. If you do not confirm your details the account will be suspended
and all stored messages will be removed from our servers permanently.
This is an automated notice sent to every customer whose mailbox is close
to its quota; there is no need to reply to this message. Our support team
is available around the clock should you have any questions about your
subscription, your invoices or the security of your personal information.
Thank you for choosing our service and for helping us keep the network
safe for everyone who relies on it every day for work and family.
]]

local NAMES = { "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace",
    "Heidi", "Ivan", "Judy", "Mallory", "Oscar", "Peggy", "Trent" }

-- a 10-hex-digit token that changes with i (deterministic)
local function token(i)
	return string.format("%05x%05x", (i * 40503) % 1048576,
	    (i * 69069 + 12345) % 1048576)
end

-- an unrelated text: 150 words drawn from a vocabulary, seeded by i
local WORDS = { "harbour", "violin", "granite", "lemon", "orbit", "canvas",
    "meadow", "signal", "copper", "thunder", "ladder", "pepper", "glacier",
    "saddle", "marble", "rocket", "velvet", "anchor", "blossom", "falcon",
    "quartz", "tunnel", "walnut", "cobalt", "ember", "fossil", "garnet",
    "hollow", "island", "jigsaw", "kettle", "lantern", "mosaic", "nectar",
    "oyster", "pillow", "quiver", "ribbon", "shadow", "timber" }
local function unrelated(i)
	local out, x = {}, i * 7919 + 17
	for k = 1, 150 do
		x = (x * 69069 + 1) % 4294967296	-- exact in a double
		out[k] = WORDS[math.floor(x / 65536) % #WORDS + 1]
	end
	return table.concat(out, " ") .. "\r\n"
end

-- one message; returns "ok", "mail" or "eom" (where it was refused)
local function send(c, body, i)
	mt.macro(c, SMFIC_MAIL, "{auth_authen}", login, "{auth_type}", "PLAIN")
	check(mt.mailfrom(c, "<" .. login .. ">") == nil, "mailfrom")
	local r = mt.getreply(c)
	if not accepted(r) then
		mt.abort(c)
		return "mail"
	end
	mt.macro(c, SMFIC_RCPT, "i", "QID" .. tostring(i))
	check(mt.rcptto(c, "<victim" .. i .. "@dest.example>") == nil, "rcptto")
	check(accepted(mt.getreply(c)), "recipient refused")
	if not mt.test_option(c, SMFIP_NOHDRS) then
		check(mt.header(c, "From", "<" .. login .. ">") == nil, "header")
		check(mt.header(c, "Subject", "Mailbox notice") == nil, "header")
	end
	r = finish(c, body)
	if accepted(r) then
		return "ok"
	end
	check(r == SMFIR_REPLYCODE, "EOM refusal without an SMTP reply")
	return "eom"
end

local c = mt.connect(socket, 40, 0.05)
check(c ~= nil, "cannot connect to " .. socket)
check(mt.conninfo(c, "client.example", "192.0.2.44") == nil, "conninfo")
check(mt.getreply(c) == SMFIR_CONTINUE, "connect not continued")

local n = tonumber(limit)
for i = 1, 2 * n do
	local body = "Dear " .. NAMES[(i - 1) % #NAMES + 1] .. ",\r\n\r\n" ..
	    TEXT .. "\r\nReference: " .. token(i) .. "\r\n"
	local where = send(c, body, i)
	if i <= n then
		check(where == "ok", "variant " .. i .. " refused at " .. where)
	else
		check(where == "eom", "variant " .. i .. " not refused at EOM: " ..
		    where)
	end
end
for i = 1, 5 do
	local where = send(c, unrelated(i), 100 + i)
	check(where == "ok", "unrelated text " .. i .. " refused at " .. where)
end
mt.disconnect(c)
mt.echo("near.lua: all checks passed")
