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
-- ARGV[5..]   per limit, 5 values: window seconds, buckets, limit, cost,
--             flags (1: soft, over it does not stop the charge;
--             2: distinct, a sorted set of the senders seen, by time;
--             4: on-refuse, charged only when the request is refused;
--             8: near, the sender's last NEAR_KEEP bodies: counts those
--             within some bits of this body's simhash;
--             16: history, the sender's usual count per window: see
--             "history" below)
-- ARGV[5+5n..] per limit, one more value: a near limit's simhash and
--             distance ("<16 hex digits>:<bits>"), a distinct limit's
--             member ("": the sender's key), a history limit's
--             "<factor>:<learn seconds>:<keep seconds>", else ""
-- returns     { allowed, replayed, count_1, retry_1, over_1, count_2, ...,
--             then per history limit: typical x 1000, learning (1/0) }
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

if redis.replicate_commands then pcall(redis.replicate_commands) end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local commit = ARGV[1] == '1'
local forced = ARGV[1] == '3'
local record = ARGV[1] == '1' or ARGV[1] == '2' or forced
local has_txn = ARGV[2] == '1'
local n = #KEYS
if has_txn then n = n - 1 end

-- an integral double as a decimal string (never "1e+12")
local function int(x) return string.format('%.0f', x) end

-- a finite whole number that a double holds exactly
local function whole(x)
	return x ~= nil and x == math.floor(x) and x > -2^53 and x < 2^53
end

local replayed = 0
if commit and has_txn and redis.call('EXISTS', KEYS[n + 1]) == 1 then
	replayed = 1
	commit = false
end

-- distinct: the members seen in the last window, exactly (scores = ms)
local function distinct_read(it, key)
	local from = now - it.window * 1000
	it.total = redis.call('ZCOUNT', key, '(' .. int(from), '+inf')
	local score = redis.call('ZSCORE', key, it.member)
	if score and tonumber(score) > from then it.cost = 0 end
	it.oldest = redis.call('ZRANGEBYSCORE', key, '(' .. int(from), '+inf',
	    'WITHSCORES', 'LIMIT', 0, 1)
end

-- near: a string of the sender's last NEAR_KEEP bodies (STORE_NEAR_KEEP of
-- lib/store.h), oldest first, 16 bytes each: the simhash as two 32-bit
-- halves (Lua 5.1's bit library is 32-bit) and the time in ms (a double)
local NEAR_KEEP = 32
local NIBBLE_ONES = { [0] = 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4 }

-- the bits set in a 32-bit value
local function ones(x)
	local c = 0
	for _ = 1, 8 do
		c = c + NIBBLE_ONES[bit.band(x, 15)]
		x = bit.rshift(x, 4)
	end
	return c
end

-- the bodies still in the window; those near this one counted, their times
local function near_read(it, key)
	local from = now - it.window * 1000
	local s = redis.call('GET', key)
	it.kept, it.times, it.total = {}, {}, 0
	if type(s) ~= 'string' then return end
	for off = 1, #s - 15, 16 do
		local hi, lo, ms = struct.unpack('>I4I4d', s, off)
		if ms > from then
			it.kept[#it.kept + 1] = { hi, lo, ms }
			if ones(bit.bxor(hi, it.hi)) + ones(bit.bxor(lo, it.lo)) <=
			    it.dist then
				it.total = it.total + 1
				it.times[#it.times + 1] = ms
			end
		end
	end
end

-- keep this body too: the newest NEAR_KEEP, for one window from now
local function near_write(it, key)
	local kept, parts = it.kept, {}
	kept[#kept + 1] = { it.hi, it.lo, now }
	for k = math.max(1, #kept - NEAR_KEEP + 1), #kept do
		parts[#parts + 1] = struct.pack('>I4I4d', kept[k][1], kept[k][2],
		    kept[k][3])
	end
	redis.call('SET', key, table.concat(parts), 'PX', int(it.window * 1000))
end

-- history (flag 16; lib/history.h states the rule, lib/history.c is the
-- same arithmetic in C): one hash per sender, f = bucket of its first
-- event, b = bucket being counted, c = its events, n = active buckets
-- folded into m, their mean, p = their decayed peak (doubles, written
-- with %.17g so they read back exactly). The window is the bucket width. A finished bucket with
-- events is folded in when a later one begins (empty ones never are);
-- n stops growing at keep / window (cap), so the mean weighs older hours
-- less; at each fold p = max(c, p - p / cap).
-- Learning (too young: b - f buckets shorter than learn, or nothing
-- folded yet): never over. Else over when c + cost > max(limit,
-- floor(factor * m), floor(2 * p)); retry: when bucket b ends. The key lives `keep`
-- after the last charge. Added for issue 13 (branch history): the only
-- other changes are the hooks marked "history" in this file.
local function history_read(it, key)
	local w = it.window * 1000
	local cur = math.floor(now / w)
	local h = redis.call('HMGET', key, 'f', 'b', 'c', 'n', 'm', 'p')
	local f, b, c = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
	local hn, m, p = tonumber(h[4]), tonumber(h[5]), tonumber(h[6])
	if not (f and b and c and hn and m and p) then
		f, b, c, hn, m, p = cur, cur, 0, 0, 0, 0	-- never seen
	elseif cur > b then			-- a later bucket: fold b in
		if c > 0 then
			local cap = math.floor(it.keep / it.window)
			if cap < 1 then cap = 1 end
			if hn < cap then hn = hn + 1 end
			m = m + (c - m) / hn
			p = p - p / cap
			if c > p then p = c end
		end
		b, c = cur, 0
	end
	it.f, it.b, it.hn, it.m, it.p, it.total = f, b, hn, m, p, c
	it.learning = hn == 0 or (b - f) * w < it.learn * 1000
	it.over, it.hretry = false, 0
	if not it.learning then
		local t = math.floor(it.factor * m)
		if math.floor(2 * p) > t then t = math.floor(2 * p) end
		if t < it.limit then t = it.limit end
		it.over = c + it.cost > t
		if it.over then
			local nx = (b + 1) * w
			it.hretry = nx <= now and 1 or math.ceil((nx - now) / 1000)
		end
	end
end

-- read every limit before writing any: all fit, or nothing is charged
local items, allowed = {}, 1
for i = 1, n do
	local a = 5 + (i - 1) * 5
	local it = {
		window = tonumber(ARGV[a]), buckets = tonumber(ARGV[a + 1]),
		limit = tonumber(ARGV[a + 2]), cost = tonumber(ARGV[a + 3]),
		costarg = ARGV[a + 3], flags = tonumber(ARGV[a + 4]),
	}
	it.soft = it.flags % 2 == 1
	it.distinct = math.floor(it.flags / 2) % 2 == 1
	it.on_refuse = math.floor(it.flags / 4) % 2 == 1
	it.near = math.floor(it.flags / 8) % 2 == 1
	it.history = math.floor(it.flags / 16) % 2 == 1	-- history
	if it.on_refuse then it.soft = true end
	local extra = ARGV[4 + 5 * n + i] or ''
	if it.history then	-- history
		local fa, le, ke = string.match(extra, '^(%d+):(%d+):(%d+)$')
		it.factor, it.learn, it.keep = tonumber(fa), tonumber(le),
		    tonumber(ke)
		if not (it.factor and it.learn and it.keep) then
			return redis.error_reply('history limit without settings')
		end
		history_read(it, KEYS[i])
		if it.over and not it.soft then allowed = 0 end
		items[i] = it
	elseif it.distinct then
		it.member = extra ~= '' and extra or ARGV[4]
		distinct_read(it, KEYS[i])
		it.over = it.total + it.cost > it.limit
		if it.over and not it.soft then allowed = 0 end
		items[i] = it
	elseif it.near then
		it.hi = tonumber(string.sub(extra, 1, 8), 16)
		it.lo = tonumber(string.sub(extra, 9, 16), 16)
		it.dist = tonumber(string.sub(extra, 18))
		if not (it.hi and it.lo and it.dist) then
			return redis.error_reply('near limit without a simhash')
		end
		near_read(it, KEYS[i])
		it.over = it.total + it.cost > it.limit
		if it.over and not it.soft then allowed = 0 end
		items[i] = it
	else
	-- window_width: rounded up, so B buckets span at least W
	it.width = math.floor((it.window * 1000 + it.buckets - 1) / it.buckets)
	if it.width < 1 then it.width = 1 end
	it.cur = math.floor(now / it.width)
	it.newest = it.cur
	local h = redis.call('HGETALL', KEYS[i])
	local total, live, stale = 0, {}, {}
	for j = 1, #h, 2 do
		local idx, c = tonumber(h[j]), tonumber(h[j + 1])
		if not whole(idx) or not whole(c) or c <= 0 then
			stale[#stale + 1] = h[j]	-- not ours: drop it
		elseif idx >= it.cur - it.buckets then	-- window_live
			total = total + c
			live[#live + 1] = { idx, c }
			if idx > it.newest then it.newest = idx end
		else
			stale[#stale + 1] = h[j]
		end
	end
	it.total, it.live, it.stale = total, live, stale
	it.over = total + it.cost > it.limit
	if it.over and not it.soft then allowed = 0 end
	items[i] = it
	end
end
if forced then allowed = 0 end
if replayed == 1 then allowed = 1 end

-- window_retry: buckets leave the window oldest first, bucket i at
-- (i + B + 1) * w; -1 stands for "never" (UINT32_MAX in C)
local function retry(it)
	if it.history then return it.hretry end	-- history
	if it.cost > it.limit then return -1 end
	if it.total + it.cost <= it.limit then return 0 end
	if it.near then
		-- the oldest near bodies leave the window first
		table.sort(it.times)
		local ms = it.times[it.total + it.cost - it.limit] +
		    it.window * 1000
		if ms <= now then return 1 end
		return math.ceil((ms - now) / 1000)
	end
	if it.distinct then
		-- the oldest sender leaves the window first
		local ms = tonumber(it.oldest[2] or now) + it.window * 1000
		if ms <= now then return 1 end
		return math.ceil((ms - now) / 1000)
	end
	table.sort(it.live, function(x, y) return x[1] < y[1] end)
	local freed = 0
	for k = 1, #it.live do
		freed = freed + it.live[k][2]
		local idx = it.live[k][1]
		-- every entry with this index leaves at the same moment
		if k == #it.live or it.live[k + 1][1] ~= idx then
			if it.total - freed + it.cost <= it.limit then
				local ms = (idx + it.buckets + 1) * it.width
				if ms <= now then return 1 end
				return math.ceil((ms - now) / 1000)
			end
		end
	end
	return -1
end

local out = { allowed, replayed }
for i = 1, n do
	local it = items[i]
	out[#out + 1] = it.total
	if replayed == 1 then
		out[#out + 1] = 0
	else
		out[#out + 1] = retry(it)
	end
	out[#out + 1] = (it.over and replayed == 0 and
	    not (it.on_refuse and (allowed == 1 or not record))) and 1 or 0
end
for i = 1, n do	-- history: the usual count and learning, after the rest
	if items[i].history then
		out[#out + 1] = math.floor(items[i].m * 1000 + 0.5)
		out[#out + 1] = items[i].learning and 1 or 0
	end
end

if commit then
	for i = 1, n do
		local it = items[i]
		if it.distinct then
			redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf',
			    int(now - it.window * 1000))
		elseif it.near or it.history then
			-- near: pruned when written (at most NEAR_KEEP entries);
			-- history: nothing stale, one hash rewritten below
		elseif #it.stale > 0 then
			redis.call('HDEL', KEYS[i], unpack(it.stale))
		end
	end
end
if record and allowed == 0 and replayed == 0 then
	-- a refusal: count it where asked, nothing else
	for i = 1, n do
		local it = items[i]
		if it.on_refuse and not it.distinct and not it.near and
		    it.cost > 0 then
			redis.call('HINCRBY', KEYS[i], int(it.cur), it.costarg)
			redis.call('PEXPIRE', KEYS[i], int((it.newest +
			    it.buckets + 1) * it.width - now))
			out[3 * i] = it.total + it.cost
		end
	end
end
if commit and allowed == 1 then
	for i = 1, n do
		local it = items[i]
		if it.on_refuse then
			out[3 * i + 2] = 0	-- not refused: nothing counted
		elseif it.distinct then
			if tonumber(it.costarg) > 0 then
				redis.call('ZADD', KEYS[i], int(now), it.member)
				-- past limit + 1 senders, the oldest tell nothing
				local extra = redis.call('ZCARD', KEYS[i]) -
				    it.limit - 1
				if extra > 0 then
					redis.call('ZREMRANGEBYRANK', KEYS[i], 0,
					    extra - 1)
				end
				redis.call('PEXPIRE', KEYS[i],
				    int(it.window * 1000))
			end
		elseif it.near then
			if it.cost > 0 then near_write(it, KEYS[i]) end
		elseif it.history then	-- history: the folded state, charged
			redis.call('HSET', KEYS[i], 'f', int(it.f), 'b', int(it.b),
			    'c', int(it.total + it.cost), 'n', int(it.hn),
			    'm', string.format('%.17g', it.m),
			    'p', string.format('%.17g', it.p))
			redis.call('PEXPIRE', KEYS[i], int(it.keep * 1000))
		elseif it.cost > 0 then
			redis.call('HINCRBY', KEYS[i], int(it.cur), it.costarg)
			redis.call('PEXPIRE', KEYS[i], int((it.newest +
			    it.buckets + 1) * it.width - now))
		end
		if not it.on_refuse then out[3 * i] = it.total + it.cost end
	end
	if has_txn then
		redis.call('SET', KEYS[n + 1], '1', 'PX', ARGV[3], 'NX')
	end
end
return out
