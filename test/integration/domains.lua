-- domains.lua - logins of one domain over the real milter protocol
-- (miltertest). Globals from -D: socket; domain; first, last (logins
-- u<first>..u<last>@<domain>); rounds (messages per login).
-- Prints "accepted=N refused=M".

dofile(common)	-- check, accepted, open

-- send one message; true if accepted
local function send(c, login)
	mt.macro(c, SMFIC_MAIL, "{auth_authen}", login, "{auth_type}", "PLAIN")
	check(mt.mailfrom(c, "<" .. login .. ">") == nil, "mailfrom")
	if not accepted(mt.getreply(c)) then
		mt.abort(c)
		return false
	end
	mt.macro(c, SMFIC_RCPT, "i", "QID")
	check(mt.rcptto(c, "<x@dest.example>") == nil, "rcptto")
	check(accepted(mt.getreply(c)), "recipient refused")
	if not mt.test_option(c, SMFIP_NOHDRS) then
		check(mt.header(c, "From", "<" .. login .. ">") == nil, "header")
	end
	local r = finish(c, "hello from " .. login .. "\r\n")
	if accepted(r) then
		return true
	end
	check(r == SMFIR_REPLYCODE, "EOM refusal without an SMTP reply")
	return false
end

local ok, refused = 0, 0
local c = open("192.0.2.1")
for round = 1, tonumber(rounds) do
	for i = tonumber(first), tonumber(last) do
		if send(c, "u" .. i .. "@" .. domain) then
			ok = ok + 1
		else
			refused = refused + 1
		end
	end
end
mt.disconnect(c)
print("accepted=" .. ok .. " refused=" .. refused)
