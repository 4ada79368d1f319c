-- common.lua - what the miltertest scripts share; each loads it with
-- dofile(common) (miltertest_run in lib.sh passes its path as -D common=).

-- check - stop the script unless cond holds; miltertest exits 1 without
-- printing a script's error, so print it first
function check(cond, what)
	if not cond then
		print("FAILED: " .. what)
		error(what, 2)
	end
end

-- accepted - did the filter let this stage through?
function accepted(r)
	return r == SMFIR_CONTINUE or r == SMFIR_ACCEPT
end

-- open - a connection to the filter at `socket` from client ip (host
-- name "client.example" unless given)
function open(ip, host)
	local c = mt.connect(socket, 40, 0.05)
	check(c ~= nil, "cannot connect to " .. socket)
	check(mt.conninfo(c, host or "client.example", ip) == nil, "conninfo")
	check(mt.getreply(c) == SMFIR_CONTINUE, "connect not continued")
	return c
end

-- finish - end of headers and the body, each unless the filter
-- negotiated it away (as an MTA does), then end of message; the reply
function finish(c, body)
	if not mt.test_option(c, SMFIP_NOEOH) then
		check(mt.eoh(c) == nil, "eoh")
	end
	if not mt.test_option(c, SMFIP_NOBODY) then
		check(mt.bodystring(c, body) == nil, "body")
	end
	check(mt.eom(c) == nil, "eom")
	return mt.getreply(c)
end
