#!/usr/bin/env python3
"""Writes events.ndjson and accounts.csv for the report tests (deterministic).

The `x-*` accounts each show one thing `stagecraft explain` explains (see
crates/stagecraft-report/tests/explain.rs); the `acct-*` accounts are a small
population for the report figures. Regenerate the outcomes after running this:

    python3 tests/report/lifecycle/generate.py
    stagecraft run tests/report/lifecycle/playbook.playbook \
      --events tests/report/lifecycle/events.ndjson \
      --accounts tests/report/lifecycle/accounts.csv \
      --until 2026-03-08T00:00:00Z --backend interp --quiet \
      --out tests/report/lifecycle/outcomes.ndjson \
      --dead-letter tests/report/lifecycle/dead-letters.ndjson
"""
import json
import os
import random
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(6)
T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
events = []


def at(day, hour, minute=0):
    return T0 + timedelta(days=day, hours=hour, minutes=minute)


def track(account, when, event, props=None):
    events.append((when, {"type": "track", "userId": "u-" + account, "groupId": account,
                          "event": event, "properties": props or {}}))


def group(account, when, traits):
    events.append((when, {"type": "group", "userId": "u-" + account, "groupId": account,
                          "traits": traits}))


def manual(account, when, to, role, reason=None):
    record = {"type": "manual", "subject": account, "to": to, "role": role,
              "actor": role + "@example.com"}
    if reason:
        record["reason"] = reason
    events.append((when, record))


def fnv1a(*parts):
    h = 0xcbf29ce484222325
    for i, part in enumerate(parts):
        if i:
            h ^= 0xff
            h = (h * 0x100000001b3) % 2**64
        for b in part.encode():
            h ^= b
            h = (h * 0x100000001b3) % 2**64
    return h


def held_out(account):
    return fnv1a(account, "save_offer") % 10000 < 5000


# ---------------------------------------------------------------- explain accounts
# x-transition: integrated, then a third login in 7 days moves it to onboarding.
track("x-transition", at(0, 10), "Integration Connected")
for m in (10, 70, 130):
    track("x-transition", at(0, 10, m), "Login")
# x-cap: welcome + tip + report tips fill `cap messages 3 per 24h`.
track("x-cap", at(0, 13), "Login")
track("x-cap", at(0, 13, 10), "Report Run")
track("x-cap", at(0, 13, 20), "Report Run")
# x-repeat: a second login an hour later: welcome is `once`, tip cools down.
track("x-repeat", at(0, 14), "Login")
track("x-repeat", at(0, 15), "Login")
# x-quiet: a report at 22:30 in New York is deferred to 07:00 local.
group("x-quiet", at(0, 0), {"timezone": "America/New_York"})
track("x-quiet", at(1, 3, 30), "Report Run")
# x-holdout: an account in the save offer's holdout whose health drops.
holdout_account = next(a for a in ("x-holdout", "x-holdout-2", "x-holdout-3") if held_out(a))
track(holdout_account, at(0, 16), "Ticket Opened")
# x-errored: usage of 0 units divides by zero in heavy_usage's condition.
track("x-errored", at(0, 17), "Usage", {"units": 0})
# x-manual: moved to active by a CSM, with a reason; then a rejected move.
track("x-manual", at(0, 18), "Login")
manual("x-manual", at(0, 19), "active", "csm", "Signed the annual plan on the call")
manual("x-manual", at(0, 20), "churned", "intern", "testing")

# ---------------------------------------------------------------- population
plans = ["free", "pro", "enterprise"]
for n in range(1, 41):
    a = "acct-%03d" % n
    start = rng.randint(0, 30)
    group(a, at(start, 9), {"plan": rng.choice(plans), "seats": rng.randint(1, 200),
                            "owner": rng.choice(["dana", "lee", "sam"])})
    kind = rng.random()
    day = start
    if kind < 0.40:  # fast: integrated, three logins, two reports
        track(a, at(day, 10), "Login")
        track(a, at(day + 1, 11), "Integration Connected")
        track(a, at(day + 1, 12), "Login")
        track(a, at(day + 2, 10), "Login")
        d = day + 2 + rng.randint(1, 8)
        track(a, at(d, 9), "Login")
        track(a, at(d, 10), "Report Run")
        track(a, at(d + 1, 11), "Login")
        track(a, at(d + 1, 12), "Report Run")
        if rng.random() < 0.3:
            track(a, at(d + 2, 13), "Usage", {"units": rng.randint(1, 5)})
            track(a, at(d + 3, 13), "Usage", {"units": 1})
    elif kind < 0.65:  # slow: a login a week, stays in trial
        for w in range(0, 6):
            if day + 7 * w < 60:
                track(a, at(day + 7 * w, 15), "Login")
    elif kind < 0.85:  # trouble: onboarding, then tickets
        track(a, at(day, 10), "Integration Connected")
        for h in (11, 12, 13):
            track(a, at(day, h), "Login")
        t = day + rng.randint(9, 14)
        track(a, at(t, 23, 30), "Ticket Opened")
        track(a, at(t + 1, 10), "Ticket Opened")
        if rng.random() < 0.5:
            track(a, at(t + rng.randint(3, 10), 10), "Subscription Cancelled")
        else:
            for k in range(4):
                track(a, at(t + 32 + k // 2, 9 + k), "Login")
    else:  # churn early
        track(a, at(day, 10), "Login")
        track(a, at(day + rng.randint(2, 9), 10), "Subscription Cancelled")
    if n in (3, 11, 27):
        manual(a, at(start + 3, 18), "active", "csm", "Kick-off done, live in production")
    if n == 19:
        track(a, at(start + 1, 8), "Usage", {"units": 0})

# History up to the report time (2026-03-08), in time order.
events = sorted((e for e in events if e[0] < at(62, 0)), key=lambda e: e[0])
with open(os.path.join(HERE, "events.ndjson"), "w") as f:
    for i, (when, record) in enumerate(events, 1):
        record = dict(record)
        record["messageId"] = "m%04d" % i
        record["timestamp"] = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        f.write(json.dumps(record, separators=(",", ":")) + "\n")

with open(os.path.join(HERE, "accounts.csv"), "w") as f:
    f.write("account,stage,entered_at,plan,seats,owner\n")
    f.write("legacy-01,active,2025-11-03,enterprise,250,dana\n")
    f.write("legacy-02,active,2025-12-15T09:30:00Z,pro,12,\n")
    f.write("legacy-03,onboarding,2025-12-20,pro,8,lee\n")
    f.write("legacy-04,,2026-01-02,free,1,\n")
    f.write("legacy-05,at_risk,2025-12-01,gold,5,sam\n")
    f.write("legacy-06,dormant,2025-12-01,pro,5,sam\n")
    f.write("legacy-07,active,,pro,5,sam\n")
