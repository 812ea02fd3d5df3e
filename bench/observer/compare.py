#!/usr/bin/env python3
"""Two samples of one figure (baseline, treatment), one value per line each:
prints each side's median and mean, and the treatment's change of the median
in percent with a 95% bootstrap interval, so a run says how sure it is.
Usage: compare.py BASE_FILE TREATMENT_FILE"""
import random
import statistics
import sys


def load(path):
    with open(path) as f:
        return [float(x) for x in f if x.strip()]


def change(base, treat):
    return (statistics.median(treat) / statistics.median(base) - 1) * 100


def main():
    base, treat = load(sys.argv[1]), load(sys.argv[2])
    # Fixed seed: the same samples always print the same interval.
    rng = random.Random(1)
    boot = sorted(
        change(rng.choices(base, k=len(base)), rng.choices(treat, k=len(treat)))
        for _ in range(2000)
    )
    lo, hi = boot[int(0.025 * len(boot))], boot[int(0.975 * len(boot)) - 1]
    print(f"median {statistics.median(base):.0f} {statistics.median(treat):.0f}")
    print(f"mean {statistics.mean(base):.1f} {statistics.mean(treat):.1f}")
    print(f"change {change(base, treat):+.1f}% (95% interval {lo:+.1f}% .. {hi:+.1f}%)")


if __name__ == "__main__":
    main()
