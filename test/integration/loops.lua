-- loops.lua - one message bounced between relay A and relay B (seed 003):
-- each pass adds a signed hop marker; the pass after hop_limit is refused.
-- Globals from -D: socketA, socketB, limit (hop_limit), cluster.

dofile(common)	-- check, accepted, open

-- send the message through one relay with these marker headers
local function pass(sock, marks, extra_received)
	local c = mt.connect(sock, 40, 0.05)
	check(c ~= nil, "cannot connect to " .. sock)
	check(mt.conninfo(c, "mx.example.org", "198.51.100.25") == nil, "conninfo")
	check(mt.mailfrom(c, "<chamber@example.org>") == nil, "mailfrom")
	check(mt.getreply(c) == SMFIR_CONTINUE, "inbound not looked at")
	check(mt.rcptto(c, "<member@example.test>") == nil, "rcptto")
	check(mt.header(c, "Message-ID", "<promo-2006@example.org>") == nil, "hdr")
	check(mt.header(c, "From", "chamber@example.org") == nil, "hdr")
	check(mt.header(c, "To", "member@example.test") == nil, "hdr")
	for i = 1, (extra_received or 1) do
		check(mt.header(c, "Received", "from x by y; " .. i) == nil, "hdr")
	end
	for _, m in ipairs(marks) do
		check(mt.header(c, "X-Sluice-Hop", m) == nil, "hdr")
	end
	if not mt.test_option(c, SMFIP_NOEOH) then
		check(mt.eoh(c) == nil, "eoh")
	end
	check(mt.bodystring(c, "Members' offers this week.\r\n") == nil, "body")
	check(mt.eom(c) == nil, "eom")
	local r = mt.getreply(c)
	local mark = nil
	if accepted(r) then
		mark = mt.getheader(c, "X-Sluice-Hop", 0)
		check(mark ~= nil, "accepted without a hop marker")
	else
		check(r == SMFIR_REPLYCODE, "refused without a reply")
	end
	mt.disconnect(c)
	return accepted(r), mark
end

-- 1. the loop: A, B, A, B, ... until refused
local marks, n = {}, 0
for i = 1, 20 do
	local sock = (i % 2 == 1) and socketA or socketB
	local ok, mark = pass(sock, marks)
	if not ok then break end
	n = n + 1
	check(string.find(mark, "c=" .. cluster .. ";", 1, true) ~= nil,
	    "marker without our cluster: " .. mark)
	check(string.find(mark, "h=" .. n .. ";", 1, true) ~= nil,
	    "pass " .. n .. " marker has the wrong hop count: " .. mark)
	table.insert(marks, 1, mark)
end
check(n == tonumber(limit), "loop stopped after " .. n .. " passes, limit " .. limit)
mt.echo("loop stopped after " .. n .. " passes")

-- 2. a forged marker (bad MAC, huge hop count) stops nothing
local forged = "v=1; c=" .. cluster .. "; h=99; t=" .. os.time() ..
    "; m=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
local ok = pass(socketA, { forged })
check(ok, "a forged marker got a message refused")

-- 3. too many Received: headers, as an MTA's own hop limit
ok = pass(socketB, {}, 60)
check(not ok, "60 Received: headers were not refused")
mt.echo("loops.lua: all checks passed")
