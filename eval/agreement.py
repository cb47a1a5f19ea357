"""How often two careful readers agree on a blind set's categories: the
ceiling any diagnoser can be held to.

A second reader (a helper agent that saw only each case's kind and text, in
shuffled order without ids, plus the labelling conventions of
eval/BLIND-2.md ... BLIND-6.md and the category list of eval/medic.toml;
never the labels, the rules or medic) labelled blind-7 on 2026-12-08:
eval/blind-7.second-reader.jsonl. This prints its agreement with the
set's own labels, counted the way `medic eval` counts medic's answers:
strict (same category), acceptable (the second reader's category is the
label or one of its acceptable alternatives), wrong (neither, and not
`unknown`). Run: python3 eval/agreement.py (standard library only).

Result: 440 cases, strict 91.4 %, acceptable 97.0 %, wrong 1.6 %.
"""
import collections, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return {case["id"]: case for case in map(json.loads, f)}


def main(labels="blind-7.jsonl", second="blind-7.second-reader.jsonl"):
    first, other = load(labels), load(second)
    if first.keys() != other.keys():
        sys.exit(f"{second} does not label the same cases as {labels}")
    strict = acceptable = wrong = 0
    disagreements = collections.Counter()
    for case_id, case in first.items():
        got = other[case_id]["category"]
        if got == case["category"]:
            strict += 1
        else:
            disagreements[(case["category"], got)] += 1
        if got == case["category"] or got in case.get("acceptable", []):
            acceptable += 1
        elif got != "unknown":
            wrong += 1
    n = len(first)
    print(f"{n} cases: strict {100 * strict / n:.1f} %, acceptable {100 * acceptable / n:.1f} %, wrong {100 * wrong / n:.1f} %")
    for (label, got), count in disagreements.most_common(8):
        print(f"  {label} -> {got}: {count}")


if __name__ == "__main__":
    main()
