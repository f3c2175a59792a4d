#!/usr/bin/env python3
"""Check every interval of a tracer's output against ground truth.

    check_views.py (--json FILE | --table FILE) [--burst INDEX:BEFORE:AFTER]...

FILE is acceptscope's NDJSON (--json) or its text table (stdout not a terminal:
blocks appended, the last one cumulative).  Each --burst says: the server's
--stats snapshots BEFORE and AFTER bracket a burst of traffic that fell inside
interval INDEX (0-based).  Checks, exiting 1 with one line per failure:
  - per listener (by inode) and per thread (by tid), the intervals sum to the summary;
  - each burst's interval shows, thread for thread, the server's counter deltas;
  - every other interval shows no traffic at all.
"""
import json
import re
import sys

FIELDS = ("accepts", "empty_accepts", "reads", "read_bytes")
LFIELDS = ("queued", "accepted", "empty_accepts")


def from_json(path):
    blocks = []
    with open(path, encoding="utf-8") as f:  # strict UTF-8: invalid bytes fail here
        for line in f:
            o = json.loads(line)
            if "listeners" not in o:
                continue
            ls = {l["inode"]: {k: l[k] for k in LFIELDS} for l in o["listeners"]}
            th = {}
            for l in o["listeners"]:
                for t in l["threads"]:
                    acc = th.setdefault(t["tid"], dict.fromkeys(FIELDS, 0))
                    for k in FIELDS:
                        acc[k] += t[k]
            blocks.append((ls, th))
    return blocks


LISTENER = re.compile(r"^\S+:\d+  inode (\d+) ")
COUNTS = re.compile(r"queued (\d+)  accepted (\d+)  empty (\d+)")
# ... EMPTY READS BYTES CPU% (a number, or - when unknown)
THREAD = re.compile(r"^  (\d+) +(\d+) +.*? +(\d+) +\d+\.\d% [# ]{20} +(\d+) +(\d+) +(\d+) +(?:\d+\.\d|-)$")


def from_table(path):
    blocks, inode = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if re.match(r"^\d\d:\d\d:\d\d  last ", line):
                blocks.append(({}, {}))
            elif m := LISTENER.match(line):
                inode = int(m.group(1))
            elif (m := COUNTS.search(line)) and inode is not None:
                blocks[-1][0][inode] = dict(zip(LFIELDS, map(int, m.groups())))
                inode = None
            elif m := THREAD.match(line):
                tid = int(m.group(2))
                vals = (int(m.group(3)), int(m.group(4)), int(m.group(5)), int(m.group(6)))
                acc = blocks[-1][1].setdefault(tid, dict.fromkeys(FIELDS, 0))
                for k, v in zip(FIELDS, vals):
                    acc[k] += v
    return blocks


def server_threads(path):
    with open(path) as f:
        return {t["tid"]: t for t in json.load(f)["threads"]}


def nonzero(d):
    return {k: v for k, v in d.items() if any(v.values())}


def main(argv):
    kind, path, bursts = None, None, []
    it = iter(argv)
    for a in it:
        if a in ("--json", "--table"):
            kind, path = a, next(it)
        elif a == "--burst":
            i, before, after = next(it).split(":")
            bursts.append((int(i), before, after))
    blocks = (from_json if kind == "--json" else from_table)(path)
    errors = []
    if len(blocks) < 2:
        errors.append(f"{path}: {len(blocks)} blocks, need intervals and a summary")
    intervals, (sum_l, sum_t) = blocks[:-1], blocks[-1]
    # Intervals add up to the summary.
    tot_l, tot_t = {}, {}
    for ls, th in intervals:
        for key, src, dst in ((0, ls, tot_l), (1, th, tot_t)):
            for k, v in src.items():
                acc = dst.setdefault(k, dict.fromkeys(v, 0))
                for f in v:
                    acc[f] += v[f]
    if nonzero(tot_l) != nonzero(sum_l):
        errors.append(f"listeners: intervals sum to {nonzero(tot_l)}, summary says {nonzero(sum_l)}")
    if nonzero(tot_t) != nonzero(sum_t):
        errors.append(f"threads: intervals sum to {nonzero(tot_t)}, summary says {nonzero(sum_t)}")
    # Each burst exactly in its interval; no traffic anywhere else.
    expect = {}
    for i, before, after in bursts:
        b, a = server_threads(before), server_threads(after)
        for tid, t in a.items():
            d = {k: t[k] - b.get(tid, {}).get(k, 0) for k in FIELDS}
            if any(d.values()):
                expect.setdefault(i, {})[tid] = d
    for i, (ls, th) in enumerate(intervals):
        want = expect.get(i, {})
        if nonzero(th) != want:
            errors.append(f"interval {i}: threads {nonzero(th)}, server says {want}")
        accepted = sum(v["accepted"] for v in ls.values())
        if accepted != sum(t["accepts"] for t in want.values()):
            errors.append(f"interval {i}: listeners accepted {accepted}, server threads accepted "
                          f"{sum(t['accepts'] for t in want.values())}")
    for e in errors:
        print("FAIL:", e)
    print(f"# {kind} {path}: {len(intervals)} intervals, {len(bursts)} bursts checked")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
