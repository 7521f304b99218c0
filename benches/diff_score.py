#!/usr/bin/env python3
"""Scores `custody diff A B --json` against the changes.json that gen-leak derive wrote.

    benches/diff_score.py R2.changes.json DIFF.json

Per category (removed, renamed, modified, added, added duplicates) it prints how many
changes gen-leak made, how many the diff reports, how many agree, and what is only on
one side. A rename the diff pairs with another path of the same content (content that
was at several paths, some renamed or removed) counts as "equivalent": no diff could
tell those pairings apart. Exit status 0 when everything agrees or is equivalent, 1
otherwise.
"""
import json
import sys


def main():
    changes = json.load(open(sys.argv[1]))
    diff = json.load(open(sys.argv[2]))

    # Content ids of r1 paths that left (removed or renamed away).
    old_hash = {r["path"]: r["blake3"] for r in changes["removed"]}
    old_hash.update({r["from"]: r["blake3"] for r in changes["renamed"]})
    for r in diff["removed"]:
        old_hash.setdefault(r["path"], r["blake3"])

    exp = {
        "removed": {r["path"] for r in changes["removed"]},
        "renamed": {(r["from"], r["to"]) for r in changes["renamed"]},
        "modified": {m["path"] for m in changes["modified"]},
        "added": {a["path"] for a in changes["added"] if a["dup_of"] is None},
        "added duplicates": {a["path"] for a in changes["added"] if a["dup_of"] is not None},
    }
    got = {
        "removed": {r["path"] for r in diff["removed"]},
        "renamed": {(r["from"], r["to"]) for r in diff["renamed"]},
        "modified": {m["path"] for m in diff["modified"]},
        "added": {a["path"] for a in diff["added"]},
        "added duplicates": {d["path"] for d in diff["duplicated"]},
    }

    # Renames paired with another path of the same content.
    exp_from_of = {t: f for f, t in exp["renamed"]}
    equivalent = {k: 0 for k in exp}
    for f, t in sorted(got["renamed"] - exp["renamed"]):
        f2 = exp_from_of.get(t)
        if f2 is not None and old_hash.get(f2) is not None and old_hash.get(f2) == old_hash.get(f):
            exp["renamed"].discard((f2, t))
            got["renamed"].discard((f, t))
            equivalent["renamed"] += 1
            # ... and then the diff calls f2 removed where gen-leak removed f.
            if f2 in got["removed"] and f in exp["removed"]:
                exp["removed"].discard(f)
                got["removed"].discard(f2)
                equivalent["removed"] += 1

    ok = True
    print("| change | generated | diff reports | agree | equivalent | only generated | only in diff |")
    print("|---|---|---|---|---|---|---|")
    for k in exp:
        e, g = exp[k], got[k]
        both = e & g
        n_e, n_g = len(e) + equivalent[k], len(g) + equivalent[k]
        print(f"| {k} | {n_e} | {n_g} | {len(both)} | {equivalent[k]} | {len(e - g)} | {len(g - e)} |")
        if e != g:
            ok = False
    rm = diff.get("renamed_modified", [])
    print(f"| renamed and modified | 0 | {len(rm)} | | | | {len(rm)} |")
    if rm:
        ok = False

    # How modifications were classified.
    exp_how = {m["path"]: m["how"] for m in changes["modified"]}
    got_how = {m["path"]: m["change"]["how"] for m in diff["modified"] if m["change"]}
    pairs = {}
    for p, h in exp_how.items():
        if p in got_how:
            key = (h, got_how[p])
            pairs[key] = pairs.get(key, 0) + 1
    print("\nmodified, generated how -> diff's how:")
    for (h, g), n in sorted(pairs.items()):
        print(f"  {h} -> {g}: {n}{'' if h == g else '  (differs)'}")

    # A few examples of each disagreement.
    for k in exp:
        for label, xs in (("only generated", exp[k] - got[k]), ("only in diff", got[k] - exp[k])):
            for x in sorted(xs)[:5]:
                print(f"  {k}, {label}: {x}")
    for r in rm[:5]:
        print(f"  renamed and modified, only in diff: {r['from']} -> {r['to']} ({r['change']['how']})")
    print("diff agrees with changes.json" if ok else "diff DISAGREES with changes.json")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
