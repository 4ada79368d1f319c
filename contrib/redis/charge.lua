-- charge.lua - sluice's check-and-charge, run atomically inside Redis.
--
-- lib/store_redis.c sends this script once (SCRIPT LOAD) and then calls
-- it with EVALSHA, one call per message. It is compiled into sluice from
-- this file (cmake/embed.cmake); test_store checks the two are equal.
--
-- The counting rule is lib/window.h's, and the arithmetic mirrors
-- window_width, window_live and window_retry of lib/window.c exactly, so
-- the memory and the redis store give the same answers: a window of W
-- seconds is B buckets of width w = ceil(W*1000/B) ms; an event at time t
-- (ms) lands in bucket floor(t/w); at time t the window counts every
-- bucket whose index is >= floor(t/w) - B, including buckets "from the
-- future" (a clock that stepped back never frees quota). Time is Redis's
-- own (TIME), so relays whose clocks disagree share one window.
--
-- KEYS[1..n]  one hash per limit of one sender, fields = bucket indexes,
--             values = events (a distinct limit: a sorted set, members
--             by time in ms; a near limit: a string, see near_read); all
--             share the sender's hash tag, so the script touches one
--             Cluster slot
-- KEYS[n+1]   the transaction key, when ARGV[2] == "1"
-- ARGV[1]     "1": charge when every limit fits; "0": check only;
--             "2": check only, but a refusal charges the on-refuse limits;
--             "3": refused already (a Redis Cluster call of the same
--             message for another subject refused it): charge only the
--             on-refuse limits, as for a refusal
-- ARGV[2]     "1": a transaction key follows the limit keys
-- ARGV[3]     transaction key lifetime, ms (STORE_TXN_MS, 10 min, or the
--             longest window if shorter: it only has to outlive a retry)
-- ARGV[4]     the sender's key (the member of "distinct" limits)
-- ARGV[5]     per limit, 25 bytes, big-endian (struct '>I4I4ddB'): window
--             seconds, buckets, limit, cost (doubles: exact below 2^53),
--             flags (1: soft, over it does not stop the charge;
--             2: distinct, a sorted set of the senders seen, by time;
--             4: on-refuse, charged only when the request is refused;
--             8: near, the sender's last NEAR_KEEP bodies: counts those
--             within some bits of this body's simhash; 16: history, the
--             sender's usual count per window, see "history" below;
--             32: unowned, over it is not the sender's doing: a refusal
--             by unowned limits alone charges no on-refuse limit).
--             Binary, because
--             tonumber() of 5 decimal strings per limit cost more than
--             the rest of the script (glibc strtod).
-- ARGV[5+i]   per limit, one more value: a near limit's simhash and
--             distance ("<16 hex digits>:<bits>"), a history limit's
--             "<factor>:<learn seconds>:<keep seconds>", a distinct
--             limit's member ("": the sender's key), else ""
-- returns     { allowed, replayed, count_1, retry_1, over_1, count_2, ...,
--             then per history limit: usual count x 1000, learning 1/0 }
--             count: events counted (after the charge, if made);
--             retry: seconds until cost fits (0: fits now; -1: never);
--             over: 1 when over the limit counting this request
--
-- Writes happen only when ARGV[1] == "1": a check writes nothing. A
-- commit deletes the buckets that no longer count; an allowed commit
-- adds the costs to the current buckets, sets each key's TTL to the
-- moment its newest bucket stops counting (at most W + w from now), and
-- creates the transaction key (SET NX PX). A commit whose transaction
-- key exists is a replay: allowed, nothing charged, nothing written.
-- Numbers are Lua doubles: exact for counts below 2^53.
--
-- Cost (one redis.call is ~6,000 instructions inside Redis, a tonumber
-- of a string ~1,400, a string.format ~3,000, a table ~1,000): the script
-- makes one call per key read, one HINCRBY per charged limit, and a
-- PEXPIRE only when the newest bucket is new (when it existed, the key's
-- expiry is already the moment it stops counting: the call that wrote it
-- set exactly that). The transaction key is one call: SET NX on an
-- allowed commit (nil: a replay), EXISTS on a refused one.

if redis.replicate_commands then pcall(redis.replicate_commands) end

local call, floor, tonumber = redis.call, math.floor, tonumber
local EXACT = 2^53	-- doubles hold whole numbers exactly below this

local t = call('TIME')
local now = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]
local commit, forced = mode == '1', mode == '3'
local record = commit or forced or mode == '2'
local has_txn = ARGV[2] == '1'
local n = #KEYS
if has_txn then n = n - 1 end
if #ARGV[5] ~= 25 * n then
	return redis.error_reply('limit parameters: ' .. #ARGV[5] ..
	    ' bytes for ' .. n .. ' limits')
end
local P = { struct.unpack('>' .. string.rep('I4I4ddB', n), ARGV[5]) }
-- which kinds of limit the request has: the functions of the others are
-- never made (every closure and table made costs each call, and its
-- garbage collection after)
local has_distinct, has_near, has_history = false, false, false
for a = 5, 5 * n, 5 do
	local f = P[a]
	if f >= 2 then
		if f % 4 >= 2 then has_distinct = true end
		if f % 16 >= 8 then has_near = true end
		if f % 32 >= 16 then has_history = true end
	end
end

-- Per limit i, a = 5 * i - 4: P[a .. a + 4] = window, buckets, limit,
-- cost, flags. A plain bucket limit (the most of them) has no table of
-- its own: a table per limit cost ~9,000 instructions each (measured,
-- bench/RESULTS.md, with its garbage collection), so its state between
-- the read and the write lives in P and in the reply, made once at its
-- full size by unpacking P: P[a] becomes the bucket width, out[3 * i]
-- the events counted, out[3 * i + 1] the current bucket's field when it
-- is there and the newest, else the newest live index, out[3 * i + 2]
-- the HGETALL reply when it has stale fields or the limit is over (they
-- are read again then), else false; the last loop replaces them with
-- the reply's values. A distinct, near or history limit (rarer, dearer
-- anyway) keeps a state table X[i] as below: an array, not named fields (a table constructor
-- with 19 named fields costs Redis ~7,000 instructions, positional ones
-- ~2,000)
local WINDOW, BUCKETS, LIMIT, COST, CHARGE, TOTAL = 1, 2, 3, 4, 5, 6
local SOFT, DISTINCT, ON_REFUSE, NEAR, OVER = 7, 8, 9, 10, 11
local WIDTH, CUR, NEWEST, FRESH, STALE, REPLY, FROM, MEMBER =
    12, 13, 14, 15, 16, 17, 18, 19
-- (COST: what this request adds, 0 for a distinct member seen already;
-- CHARGE: the cost asked; FRESH: the current bucket exists and is the
-- newest; REPLY: the HGETALL reply; FROM: a distinct window's start, ms)

-- an integral double as a decimal string (never "1e+12")
local int = (has_distinct or has_history) and
    function(x) return string.format('%.0f', x) end

-- near: a string of the sender's last NEAR_KEEP bodies (STORE_NEAR_KEEP of
-- lib/store.h), oldest first, 16 bytes each: the simhash as two 32-bit
-- halves (Lua 5.1's bit library is 32-bit) and the time in ms (a double).
-- Its functions are made on first use: few configurations have a near
-- limit, and every closure and table made costs each call
local near_read, near_write
local near_make = has_near and function()
	local NEAR_KEEP = 32
	local NIBBLE_ONES = {
		[0] = 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4
	}

	-- the bits set in a 32-bit value
	local function ones(x)
		local c = 0
		for _ = 1, 8 do
			c = c + NIBBLE_ONES[bit.band(x, 15)]
			x = bit.rshift(x, 4)
		end
		return c
	end

	-- the bodies still in the window; those near this one counted, and
	-- their times
	function near_read(it, key)
		local from = now - it[WINDOW] * 1000
		local s = call('GET', key)
		it.kept, it.times, it[TOTAL] = {}, {}, 0
		if type(s) ~= 'string' then return end
		for off = 1, #s - 15, 16 do
			local hi, lo, ms = struct.unpack('>I4I4d', s, off)
			if ms > from then
				it.kept[#it.kept + 1] = { hi, lo, ms }
				if ones(bit.bxor(hi, it.hi)) +
				    ones(bit.bxor(lo, it.lo)) <= it.dist then
					it[TOTAL] = it[TOTAL] + 1
					it.times[#it.times + 1] = ms
				end
			end
		end
	end

	-- keep this body too: the newest NEAR_KEEP, for one window from now
	function near_write(it, key)
		local kept, parts = it.kept, {}
		kept[#kept + 1] = { it.hi, it.lo, now }
		for k = math.max(1, #kept - NEAR_KEEP + 1), #kept do
			parts[#parts + 1] = struct.pack('>I4I4d', kept[k][1],
			    kept[k][2], kept[k][3])
		end
		call('SET', key, table.concat(parts), 'PX', it[WINDOW] * 1000)
	end
end

-- history (flag 16), added for issue 13 (branch history); the other
-- changes for it are the lines marked "history" below. lib/history.h
-- states the rule; lib/history.c is the same arithmetic in C. One hash
-- per sender: f = bucket of its first event, b = bucket being counted,
-- c = its events, n = active buckets folded into m, their mean, and
-- p = their decayed peak (doubles written with %.17g: they read back
-- exactly). The limit's window is the bucket width. When a later bucket
-- begins, a finished one with events is folded in (empty ones never
-- are): n grows up to cap = keep / window, m += (c - m) / n,
-- p = max(c, p - p / cap). Learning (b - f buckets shorter than learn,
-- or n = 0): never over (LIMIT set to infinity). Else LIMIT becomes the
-- threshold max(limit, floor(factor * m), floor(2 * p)), so the common
-- over test below applies; retry: when bucket b ends. A charge rewrites
-- the hash and sets its TTL to keep. Made on first use, as near's.
local history_read, history_write
local history_make = has_history and function()
	function history_read(it, key, extra)
		local fa, le, ke = string.match(extra, '^(%d+):(%d+):(%d+)$')
		fa, le, ke = tonumber(fa), tonumber(le), tonumber(ke)
		if not (fa and le and ke) then return false end
		local w = it[WINDOW] * 1000
		local cur = floor(now / w)
		local h = call('HMGET', key, 'f', 'b', 'c', 'n', 'm', 'p')
		local f, b, c = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
		local hn, m, p = tonumber(h[4]), tonumber(h[5]), tonumber(h[6])
		if not (f and b and c and hn and m and p) then
			f, b, c, hn, m, p = cur, cur, 0, 0, 0, 0   -- never seen
		elseif cur > b then		-- a later bucket: fold b in
			if c > 0 then
				local cap = floor(ke / it[WINDOW])
				if cap < 1 then cap = 1 end
				if hn < cap then hn = hn + 1 end
				m = m + (c - m) / hn
				p = p - p / cap
				if c > p then p = c end
			end
			b, c = cur, 0
		end
		it.hist, it.f, it.b, it.hn, it.m, it.p, it.keep =
		    true, f, b, hn, m, p, ke
		it[TOTAL] = c
		it.learning = hn == 0 or (b - f) * w < le * 1000
		if it.learning then
			it[LIMIT] = math.huge
		else
			local t = floor(fa * m)
			if floor(2 * p) > t then t = floor(2 * p) end
			if t > it[LIMIT] then it[LIMIT] = t end
		end
		return true
	end

	function history_write(it, key)
		call('HSET', key, 'f', int(it.f), 'b', int(it.b),
		    'c', int(it[TOTAL] + it[COST]), 'n', int(it.hn),
		    'm', string.format('%.17g', it.m),
		    'p', string.format('%.17g', it.p))
		call('PEXPIRE', key, it.keep * 1000)
	end
end

-- read every limit before writing any: all fit, or nothing is charged
local unpack = unpack
local out = { 1, 0, unpack(P, 1, 3 * n) }
local X				-- the state tables of the rich limits, or nil
local allowed, owned, late = 1, false, false
for i = 1, n do
	local a = 5 * i - 4
	local f = P[a + 4]
	local over
	if f % 4 >= 2 or f % 32 >= 8 then	-- distinct, near or history
		local it = {
			P[a], P[a + 1], P[a + 2], P[a + 3], P[a + 3], 0,
			f % 2 == 1 or f % 8 >= 4, f % 4 >= 2,
			f % 8 >= 4, f % 16 >= 8, false, 0, 0, 0, false, 0,
			false, 0, false,
		}
		local extra = ARGV[5 + i] or ''
		if it[DISTINCT] then
			-- the members seen in the last window, exactly (ms)
			local from = now - it[WINDOW] * 1000
			it[MEMBER] = extra ~= '' and extra or ARGV[4]
			it[FROM] = from
			it[TOTAL] = call('ZCOUNT', KEYS[i], '(' .. int(from),
			    '+inf')
			local score = call('ZSCORE', KEYS[i], it[MEMBER])
			if score and tonumber(score) > from then
				it[COST] = 0
			end
		elseif f % 32 >= 16 then	-- history
			if not history_read then history_make() end
			if not history_read(it, KEYS[i], extra) then
				return redis.error_reply(
				    'history limit without settings')
			end
		else				-- near
			it.hi = tonumber(string.sub(extra, 1, 8), 16)
			it.lo = tonumber(string.sub(extra, 9, 16), 16)
			it.dist = tonumber(string.sub(extra, 18))
			if not (it.hi and it.lo and it.dist) then
				return redis.error_reply(
				    'near limit without a simhash')
			end
			if not near_read then near_make() end
			near_read(it, KEYS[i])
		end
		it[OVER] = it[TOTAL] + it[COST] > it[LIMIT]
		over = it[OVER] and not it[SOFT]
		if it[OVER] then late = true end
		out[3 * i] = it[TOTAL]
		if not X then X = {} end
		X[i] = it
	else
		-- a bucket series (window_width, window_live of
		-- lib/window.c): the live events, the newest live index, the
		-- stale fields (counted), and whether the current bucket is
		-- there and the newest: then the charge that wrote it set the
		-- key's expiry to the moment it leaves the window, which is
		-- what a charge now would set again
		local nb = P[a + 1]
		local w = floor((P[a] * 1000 + nb - 1) / nb)
		if w < 1 then w = 1 end
		local cur = floor(now / w)
		local low, top, total, stale, here = cur - nb, cur, 0, false,
		    false
		local h = call('HGETALL', KEYS[i])
		for j = 1, #h, 2 do
			local idx, c = tonumber(h[j]), tonumber(h[j + 1])
			-- counts: a whole number of events > 0 in a live
			-- bucket (window_live); else stale, or not ours
			if idx and c and c > 0 and idx >= low and c < EXACT and
			    idx < EXACT and idx == floor(idx) and
			    c == floor(c) then
				total = total + c
				if idx > top then top = idx end
				if idx == cur then here = h[j] end
			else
				stale = true
			end
		end
		over = total + P[a + 3] > P[a + 2]
		P[a], out[3 * i] = w, total
		out[3 * i + 1] = top == cur and here or top
		out[3 * i + 2] = (stale or over) and h
		if over then late = true end
		if f % 2 == 1 or f % 8 >= 4 then over = false end  -- soft
	end
	if over then
		allowed = 0
		if f % 64 < 32 then owned = true end	-- not unowned
	end
end
if forced then allowed, owned = 0, true end
-- a refusal by unowned limits alone (a domain's total, a copy) is not
-- the sender's: its on-refuse limits are not charged
if not owned then record = false end

-- a commit's transaction key: set now when allowed (nothing else can
-- fail before the writes below); already there: a replay
local replayed = 0
if commit and has_txn then
	if allowed == 1 then
		if not call('SET', KEYS[n + 1], '1', 'PX', ARGV[3], 'NX') then
			replayed = 1
		end
	elseif call('EXISTS', KEYS[n + 1]) == 1 then
		replayed = 1
	end
	if replayed == 1 then
		allowed = 1
		commit = false
	end
end
out[1], out[2] = allowed, replayed

-- window_retry, when cost does not fit now: buckets leave the window
-- oldest first, bucket i at (i + B + 1) * w; -1 stands for "never"
-- (UINT32_MAX in C). A rich limit's (it), or plain limit i's (it nil:
-- h its HGETALL reply). Made only when a limit is over.
local retry = late and function(it, i, key, h)
	local ms, a = nil, 5 * i - 4
	if it and it.hist then	-- history: the bucket's end
		ms = (it.b + 1) * it[WINDOW] * 1000
		if ms <= now then return 1 end
		return math.ceil((ms - now) / 1000)
	end
	local lim, cost = P[a + 2], it and it[COST] or P[a + 3]
	if cost > lim then return -1 end
	if it and it[NEAR] then
		-- the oldest near bodies leave the window first
		table.sort(it.times)
		ms = it.times[it[TOTAL] + cost - lim] + it[WINDOW] * 1000
	elseif it then		-- distinct
		-- the oldest sender leaves the window first
		local oldest = call('ZRANGEBYSCORE', key, '(' .. int(it[FROM]),
		    '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
		ms = tonumber(oldest[2] or now) + it[WINDOW] * 1000
	else
		local nb, w, live = P[a + 1], P[a], {}
		local low = floor(now / w) - nb
		for j = 1, #h, 2 do
			local idx, c = tonumber(h[j]), tonumber(h[j + 1])
			if idx and c and c > 0 and idx >= low and c < EXACT and
			    idx < EXACT and idx == floor(idx) and
			    c == floor(c) then
				live[#live + 1] = { idx, c }
			end
		end
		table.sort(live, function(x, y) return x[1] < y[1] end)
		local freed, total = 0, out[3 * i]
		for k = 1, #live do
			freed = freed + live[k][2]
			-- every entry with this index leaves at the same moment
			if (k == #live or live[k + 1][1] ~= live[k][1]) and
			    total - freed + cost <= lim then
				ms = (live[k][1] + nb + 1) * w
				break
			end
		end
		if not ms then return -1 end
	end
	if ms <= now then return 1 end
	return math.ceil((ms - now) / 1000)
end

-- per limit, the reply's retry and over (from what was read), then the
-- writes, key by key: a commit drops what no longer counts; a refusal
-- counts where asked (the on-refuse limits), nothing else; an allowed
-- commit charges every limit but those. A check writes nothing. One
-- bucket more is an HINCRBY (of the field read, when the current bucket
-- was there: no number to format), and the key's expiry moved to the
-- moment the newest bucket leaves the window unless that bucket was
-- there already.
local refusal = record and allowed == 0 and replayed == 0
for i = 1, n do
	local a, key = 5 * i - 4, KEYS[i]
	local it = X and X[i]
	local lim, cost, on_refuse = P[a + 2], P[a + 3], P[a + 4] % 8 >= 4
	local total, here, h = out[3 * i], out[3 * i + 1], out[3 * i + 2]
	local over
	if it then
		lim, cost, over = it[LIMIT], it[COST], it[OVER]
	else
		over = total + cost > lim
	end
	if replayed == 1 or total + cost <= lim then
		out[3 * i + 1] = 0
	else
		out[3 * i + 1] = retry(it, i, key, h)
	end
	out[3 * i + 2] = (over and replayed == 0 and
	    not (on_refuse and (allowed == 1 or not record))) and 1 or 0
	if not (commit or refusal) then
		-- a check: nothing written
	elseif it then
		if commit and it[DISTINCT] then
			call('ZREMRANGEBYSCORE', key, '-inf', int(it[FROM]))
		end
		if refusal then
			-- a rich limit is never an on-refuse one
		elseif commit and allowed == 1 then
			if on_refuse then
				out[3 * i + 2] = 0
			elseif it[DISTINCT] then
				if it[CHARGE] > 0 then
					-- a member seen already is seen again
					call('ZADD', key, now, it[MEMBER])
					-- past limit + 1 senders, the oldest
					-- tell nothing
					local extra = it[TOTAL] + it[COST] -
					    it[LIMIT] - 1
					if extra > 0 then
						call('ZREMRANGEBYRANK', key, 0,
						    extra - 1)
					end
					call('PEXPIRE', key, it[WINDOW] * 1000)
				end
			elseif it[NEAR] then
				if it[COST] > 0 then near_write(it, key) end
			else		-- history
				history_write(it, key)
			end
			if not on_refuse then
				out[3 * i] = it[TOTAL] + it[COST]
			end
		end
	else
		local w, add = P[a], false
		if commit and h then	-- the stale fields, if any
			local stale, low = {}, floor(now / w) - P[a + 1]
			for j = 1, #h, 2 do
				local idx, c = tonumber(h[j]), tonumber(h[j + 1])
				if not (idx and c and c > 0 and idx >= low and
				    c < EXACT and idx < EXACT and
				    idx == floor(idx) and c == floor(c)) then
					stale[#stale + 1] = h[j]
				end
			end
			if #stale > 0 then call('HDEL', key, unpack(stale)) end
		end
		if refusal then
			add = on_refuse and cost > 0
		elseif commit and allowed == 1 then
			if on_refuse then
				out[3 * i + 2] = 0  -- not refused: nothing counted
			else
				add = cost > 0
				out[3 * i] = total + cost
			end
		end
		if add then
			local by = cost == 1 and '1' or cost
			if type(here) == 'string' then
				call('HINCRBY', key, here, by)
			else
				call('HINCRBY', key, floor(now / w), by)
				call('PEXPIRE', key, (here + P[a + 1] + 1) * w -
				    now)
			end
			out[3 * i] = total + cost
		end
	end
end
for i = 1, X and n or 0 do	-- history: the usual count and learning
	local it = X[i]
	if it and it.hist then
		out[#out + 1] = floor(it.m * 1000 + 0.5)
		out[#out + 1] = it.learning and 1 or 0
	end
end
return out
