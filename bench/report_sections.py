#!/usr/bin/env python3
"""report_sections.py - the MTA and soak sections of bench/RESULTS.md.

  report_sections.py mta  RESULTS.jsonl META.json OUT.md|-
  report_sections.py soak RESULTS.jsonl META.json OUT.md|-
  report_sections.py keep OLD.md NEW.md

Each section sits between "<!-- begin NAME -->" and "<!-- end NAME -->"
lines; writing one replaces that block in OUT.md (or appends it), leaving
the rest of the file alone. "keep" copies every such block of OLD.md that
NEW.md lacks to the end of NEW.md: bench/run's main report, which rewrites
RESULTS.md, keeps the MTA and soak sections of earlier runs that way.
"""
import json
import os
import re
import statistics
import sys

BLOCK = re.compile(r'^<!-- begin (.+?) -->\n.*?^<!-- end \1 -->\n', re.S | re.M)


def splice(path, name, text):
    """replace (or append) the block NAME of path with text"""
    block = f'<!-- begin {name} -->\n{text.rstrip()}\n<!-- end {name} -->\n'
    old = open(path).read() if os.path.exists(path) else ''
    m = next((m for m in BLOCK.finditer(old) if m.group(1) == name), None)
    if m:
        new = old[:m.start()] + block + old[m.end():]
    else:
        new = old.rstrip('\n') + ('\n\n' if old else '') + block
    open(path, 'w').write(new)


def keep(old_path, new_path):
    if not os.path.exists(old_path):
        return
    new = open(new_path).read()
    have = {m.group(1) for m in BLOCK.finditer(new)}
    add = [m.group(0) for m in BLOCK.finditer(open(old_path).read())
           if m.group(1) not in have]
    if add:
        open(new_path, 'w').write(new.rstrip('\n') + '\n\n' + '\n'.join(add))


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(x):
    return 'n/a' if x is None else f'{100 * x:.0f}%'


def fmt(x, d=0):
    return 'n/a' if x is None else f'{x:,.{d}f}'


LABEL = {
    'none': 'no milter',
    'empty-unix': 'empty filter, unix',
    'empty-inet': 'empty filter, inet',
    'mem-unix': 'sluice, memory store, unix',
    'mem-inet': 'sluice, memory store, inet',
    'redis-unix': 'sluice, Redis, unix',
    'redis-inet': 'sluice, Redis, inet',
}
ORDER = list(LABEL)


def mta_section(R, meta):
    L = []
    P = L.append
    P('## Through real MTAs (`bench/run --mta`)')
    P('')
    P(f"- **Date**: {meta['date']}; **command** `{meta['command']}` ({meta['duration']} s); "
      f"load before the run {meta['loadavg']}")
    P(f"- **Software**: {meta['software']}; {meta['machine']}")
    P(f"- **Method**: the MTA, smtp-sink, the milters, Redis and the load client share the host. "
      f"{meta['rounds']} round{'s' if meta['rounds'] > 1 else ''} of {meta['run_s']} s per configuration, "
      "the order rotating each round, after a 1 s warm-up of each; the queue drains between runs. "
      f"Load (bench/smtpload.py): {meta['connections']} SMTP connections, each running sessions of up to 10 "
      "messages (Postfix: STARTTLS then AUTH PLAIN, contrib/postfix/master.cf's submission service; "
      "Sendmail: AUTH PLAIN on an MSA port), 20 logins in turn, 3 recipients, 5 To: addresses, "
      "2 KiB bodies, each body different. Latency: MAIL to the reply to the end of DATA. sluice runs "
      "contrib/sluice.conf (copies, repeats, body_senders, lock_after) with a hop key (the hop marker "
      "is added to every message), only sockets, store and limits changed (never refuses); the empty filter "
      "negotiates the same steps (body included). A ratio compares runs **of the same round**; "
      "tables give the median over the rounds (min-max).")
    P('')
    mtas = [m for m in ('postfix', 'sendmail') if any(r['mta'] == m for r in R)]
    T = []
    tables = []
    for mta in mtas:
        runs = [r for r in R if r['mta'] == mta and r['round'] > 0]
        by = {(r['round'], r['conf']): r for r in runs}
        rounds = sorted({r['round'] for r in runs})
        ST = {}
        for conf in ORDER:
            rs = [r for r in runs if r['conf'] == conf]
            if not rs:
                continue
            tp = [r['load']['msg_s'] for r in rs]

            def ratio(base):
                out = []
                for r in rs:
                    b = by.get((r['round'], base))
                    if b and b['load']['msg_s'] > 0:
                        out.append(r['load']['msg_s'] / b['load']['msg_s'])
                return out
            rn, re_ = ratio('none'), ratio('empty-unix')
            msgs = sum(r['load']['messages'] for r in rs)
            ST[conf] = {
                'tps': med(tp), 'tmin': min(tp), 'tmax': max(tp),
                'r_none': med(rn), 'rn_min': min(rn, default=None), 'rn_max': max(rn, default=None),
                'r_empty': med(re_), 're_min': min(re_, default=None), 're_max': max(re_, default=None),
                'p50': med([r['load']['p50_ms'] for r in rs]),
                'p99': med([r['load']['p99_ms'] for r in rs]),
                'cpu': sum(r['milter_cpu_ms'] for r in rs) * 1000 / msgs if msgs else None,
                'dacks': (sum(r['delayed_acks'] for r in rs) / msgs
                          if msgs and all('delayed_acks' in r for r in rs) else None),
                'host': med([r['host_busy_ticks'] / r['host_all_ticks'] for r in rs if r['host_all_ticks']]),
                'refused': sum(r['load']['refused'] for r in rs),
                'errors': sum(r['load']['errors'] for r in rs),
                'messages': msgs,
                'replies': sorted({x for r in rs for x in r['load'].get('replies', [])})[:3],
            }
        name = mta.capitalize()
        for conf in ('redis-unix', 'redis-inet'):
            s = ST.get(conf)
            if not s:
                continue
            how = conf.split('-')[1]
            ok = s['r_empty'] is not None and s['r_empty'] >= 0.95
            T.append((f"{name}, sluice (Redis) over {how} >= 95% of the empty filter over unix",
                      f"{pct(s['r_empty'])} ({pct(s['re_min'])}-{pct(s['re_max'])})",
                      'met' if ok else '**not met**'))
            ok = s['r_none'] is not None and s['r_none'] >= 0.90
            T.append((f"{name}, sluice (Redis) over {how} >= 90% of no milter",
                      f"{pct(s['r_none'])} ({pct(s['rn_min'])}-{pct(s['rn_max'])})",
                      'met' if ok else '**not met**'))
        tables.append((mta, name, ST, rounds, by))
    P('### Targets (issue 16)')
    P('')
    P('| target | result (median, min-max over the rounds) | |')
    P('|---|---|---|')
    for t in T:
        P(f'| {t[0]} | {t[1]} | {t[2]} |')
    P('')
    for mta, name, ST, rounds, by in tables:
        P(f'### {name}')
        P('')
        P('| configuration | msg/s (min-max) | ratio to no milter (min-max) | ratio to empty filter, unix (min-max) '
          '| p50 ms | p99 ms | milter CPU µs/msg | delayed ACKs/msg | host busy | messages | refused | errors |')
        P('|---|---|---|---|---|---|---|---|---|---|---|---|')
        for conf in ORDER:
            s = ST.get(conf)
            if not s:
                continue
            rn = '1' if conf == 'none' else f"{pct(s['r_none'])} ({pct(s['rn_min'])}-{pct(s['rn_max'])})"
            re_ = '1' if conf == 'empty-unix' else f"{pct(s['r_empty'])} ({pct(s['re_min'])}-{pct(s['re_max'])})"
            P(f"| {LABEL[conf]} | {fmt(s['tps'])} ({fmt(s['tmin'])}-{fmt(s['tmax'])}) | {rn} | {re_} | "
              f"{fmt(s['p50'], 1)} | {fmt(s['p99'], 1)} | {'-' if conf == 'none' else fmt(s['cpu'])} | "
              f"{'-' if s['dacks'] is None else fmt(s['dacks'], 2)} | "
              f"{pct(s['host'])} | {s['messages']:,} | {s['refused']:,} | {s['errors']:,} |")
        P('')
        P('Per round (msg/s; ratio to no milter of the same round):')
        P('')
        P('| configuration | ' + ' | '.join(f'round {i}' for i in rounds) + ' |')
        P('|---|' + '---|' * len(rounds))
        for conf in ORDER:
            cells = []
            for i in rounds:
                r = by.get((i, conf))
                b = by.get((i, 'none'))
                if not r:
                    cells.append('')
                    continue
                t = r['load']['msg_s']
                cells.append(f'{t:,.0f}' + (f' ({t / b["load"]["msg_s"]:.0%})' if b and conf != 'none' and b['load']['msg_s'] else ''))
            P(f'| {LABEL[conf]} | ' + ' | '.join(cells) + ' |')
        P('')
        # over inet, 20 ms or more a message above the same milter over
        # unix in the same round: a delayed-ACK stall (~40 ms)
        slow = []
        for c in ('empty-inet', 'mem-inet', 'redis-inet'):
            u = c.replace('-inet', '-unix')
            d = med([by[(i, c)]['load']['p50_ms'] - by[(i, u)]['load']['p50_ms']
                     for i in rounds if (i, c) in by and (i, u) in by])
            if d is not None and d >= 20:
                slow.append(f"{LABEL[c]} +{d:.0f} ms")
        if slow:
            P('**p50 over inet 20 ms or more above the same milter over unix** (' + ', '.join(slow) + '): '
              'the Nagle/delayed-ACK stall of DESIGN.md ("Measured pitfalls").')
        else:
            P('No delayed-ACK stall: over inet every milter\'s p50 is within 20 ms of its p50 over unix.')
        P('')
        bad = [c for c in ORDER if c in ST and (ST[c]['refused'] or ST[c]['errors'])]
        for c in bad:
            P(f"{LABEL[c]}: {ST[c]['refused']} refused, {ST[c]['errors']} client errors: "
              + '; '.join(f'`{x}`' for x in ST[c]['replies']))
            P('')
    if meta.get('sluice_log_errors'):
        P(f"sluice logged {meta['sluice_log_errors']} lines with `error` during the run.")
        P('')
    if meta.get('postfix_warnings'):
        P('Postfix warnings: ' + '; '.join(f'`{x}`' for x in meta['postfix_warnings'].splitlines()))
        P('')
    P('The empty filter is libmilter with nothing to do: over inet it pays whatever stall libmilter\'s '
      'writes meet (it gets no remedy), so the floor used for the targets is the empty filter over unix.')
    P('')
    return '\n'.join(L)


def soak_section(R, meta):
    L = []
    P = L.append
    s = next(r for r in R if r['kind'] == 'soak')
    samples = [r for r in R if r['kind'] == 'sample']
    b = s['bench']
    iv = b.get('intervals', [])
    P('## Soak (`bench/run --soak`)')
    P('')
    P(f"- **Date**: {meta['date']}; **command** `{meta['command']}`; load before the run {meta['loadavg']}")
    P(f"- **Software**: {meta['software']}")
    P(f"- **Method**: sluice-bench `-c {s['c']}` (the default message: 3 recipients, 5 To: addresses, "
      f"2 KiB body, 1,000 logins) for {s['duration_s']:.0f} s against one sluice with the Redis store "
      f"(bench/run's configuration; a new milter connection every {s['per_conn']} transactions, so sessions "
      f"open and close all along). Redis (no persistence but its own `SHUTDOWN SAVE` RDB) was stopped at "
      f"{s['restart_at_s']:.0f} s with `SHUTDOWN SAVE` and, started again from that snapshot, answered "
      f"{s['down_s']:.1f} s later (writing and loading the snapshot included). The daemon's VmRSS, open descriptors and threads were sampled every "
      f"{s['sample_every_s']} s.")
    P('')

    def first_last(key):
        # the last minute before sluice-bench winds down (its connections
        # close in the last seconds)
        t_end = s['duration_s'] - 2 * s['sample_every_s']
        first = [x[key] for x in samples if 5 <= x['t'] <= 65]
        last = [x[key] for x in samples if t_end - 60 <= x['t'] <= t_end]
        return (med(first), med(last), max((x[key] for x in samples), default=None))
    P('| sampled | first minute (median) | last minute (median) | peak | flat |')
    P('|---|---|---|---|---|')
    flat_ok = True
    for key, label, tol in (('rss_kb', 'VmRSS kB', 0.10), ('fds', 'open descriptors', 0.05),
                            ('threads', 'threads', 0.10)):
        a, z, pk = first_last(key)
        ok = a is not None and z is not None and z <= a * (1 + tol) + (2 if key != 'rss_kb' else 1024)
        flat_ok &= ok
        P(f"| {label} | {fmt(a)} | {fmt(z)} | {fmt(pk)} | {'yes' if ok else '**no**'} (within {tol:.0%}) |")
    a, z, pk = first_last('milter_conns')
    P(f"| milter connections open | {fmt(a)} | {fmt(z)} | {fmt(pk)} | (the load, not a leak) |")
    P('')
    P('First minute: samples from 5 to 65 s (the sessions are open by then); last minute: the 60 s '
      'before the last 10 s, when sluice-bench\'s connections close.')
    P('')
    a = [x for x in samples if x['t'] >= s['duration_s'] - 130 and x['t'] <= s['duration_s'] - 10]
    if len(a) >= 2:
        P(f"VmRSS over the last 2 minutes before the end: {a[0]['rss_kb']:,} kB at {a[0]['t']:.0f} s, "
          f"{a[-1]['rss_kb']:,} kB at {a[-1]['t']:.0f} s "
          f"({(a[-1]['rss_kb'] - a[0]['rss_kb']) * 60 / max(a[-1]['t'] - a[0]['t'], 1):+,.0f} kB a minute).")
        P('')
    P('Per minute (milter protocol, as sluice-bench saw it; R: a minute Redis was down in, from the shutdown '
      'to its first answer):')
    P('')
    P('| minute | transactions/s | p50 ms | p99 ms | max ms | milter errors |')
    P('|---|---|---|---|---|---|')
    down = lambda x: (x['end_s'] - b['interval_s'] < s['restart_at_s'] + s['down_s'] and
                      x['end_s'] > s['restart_at_s'])
    for x in iv:
        m = x['end_s']
        mark = ' R' if down(x) else ''
        P(f"| {m / 60:.0f}{mark} | {x['tps']:,.0f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | {x['max_ms']:.1f} | {x['errors']} |")
    P('')
    p99s = [x['p99_ms'] for x in iv if not down(x)]
    stable = bool(p99s) and max(p99s) <= 2 * med(p99s) + 5
    P(f"- **p99 per minute**: {fmt(min(p99s, default=None), 1)}-{fmt(max(p99s, default=None), 1)} ms outside the "
      f"minutes Redis was down in (median {fmt(med(p99s), 1)} ms): {'stable' if stable else '**not stable**'} "
      "(no minute above twice the median + 5 ms).")
    P(f"- **Milter errors** (sluice-bench: connection failures, timeouts, protocol violations): {b['errors']}; "
      f"verdicts: accept {b['accept']:,}, tempfail {b['tempfail']:,}, reject {b['reject']:,}.")
    P(f"- **sluice's log**: {s['fallbacks']:,} decisions by the store fallback (`store=local-fallback`: Redis "
      f"unreachable, limits held per relay), {s['store_errors']:,} store error lines; "
      + (', '.join(f"{v:,} × `{k}`" for k, v in s.get('errtypes', {}).items()) or 'no other error') + '.')
    acc = b['accept']
    lost = acc - s['redis_count'] - s['fallbacks']
    P(f"- **Counts**: sluice accepted {acc:,} messages; Redis holds {s['redis_count']:,} in the logins' "
      f"`messages` windows at the end. Of the difference ({acc - s['redis_count']:,}), {s['fallbacks']:,} were "
      "decided by the fallback while Redis was down or late (counted locally, never in Redis: the README, "
      "\"Running at scale\": *when it fails, store_fallback answers and nothing counted meanwhile reaches Redis*); "
      + (f"**{lost:,} lost beyond that**. " if lost >= 0 else
         f"**none lost beyond that**, and {-lost:,} counted twice (in Redis, and by the fallback after "
         "the reply came too late: Redis had run the script). ") + "The README's other statement, "
      "*a restarted Redis without persistence forgets every counter*, is not exercised here: Redis restarts "
      "from its snapshot, as contrib/redis's RDB advice has it.")
    P(f"- **Flat**: {'yes' if flat_ok else '**no**'} (RSS, descriptors, threads: last minute against the first).")
    P('')
    return '\n'.join(L)


def main():
    cmd = sys.argv[1]
    if cmd == 'keep':
        keep(sys.argv[2], sys.argv[3])
        return
    R = [json.loads(x) for x in open(sys.argv[2]) if x.strip()]
    meta = json.load(open(sys.argv[3]))
    out = sys.argv[4]
    text = mta_section(R, meta) if cmd == 'mta' else soak_section(R, meta)
    sys.stdout.write(text + '\n')
    if out != '-':
        splice(out, 'bench/run --' + cmd, text)


main()
