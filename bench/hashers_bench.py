"""The password hashers Django ships, side by side on this machine: seconds per hash, and the time
to hash 100,000 imported passwords with 1, 2 and 8 worker processes.

    python bench/hashers_bench.py [--hashes 240] [--processes 1,2,8] [--json bench/hashers.json]

Each hasher is timed one hash at a time in this process (the median of --samples), then
--hashes passwords are hashed by a pool of N processes for each N, and 100,000 hashes are
extrapolated from that rate. A pool larger than the machine's cores cannot go faster than its
cores: the 8-process figure on a 2-core machine says so, and the 8-core column extrapolates
the one-process rate to 8 dedicated cores (an estimate, not a measurement).
"""
import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORDS = 100_000
# name -> (hasher class path, parameters overriding the class's, what the strength is)
HASHERS = {
    "pbkdf2-django": ("django.contrib.auth.hashers.PBKDF2PasswordHasher", {},
                      "PBKDF2-SHA256, 1,000,000 iterations (Django 5.2's default)"),
    "pbkdf2-owasp": ("django.contrib.auth.hashers.PBKDF2PasswordHasher", {"iterations": 600_000},
                     "PBKDF2-SHA256, 600,000 iterations (OWASP's recommendation)"),
    "argon2-django": ("django.contrib.auth.hashers.Argon2PasswordHasher", {},
                      "Argon2id, m=100 MiB, t=2, p=8 (Django's defaults)"),
    "argon2-owasp": ("django.contrib.auth.hashers.Argon2PasswordHasher",
                     {"memory_cost": 19_456, "time_cost": 2, "parallelism": 1},
                     "Argon2id, m=19 MiB, t=2, p=1 (OWASP's minimum)"),
    "scrypt-django": ("django.contrib.auth.hashers.ScryptPasswordHasher", {},
                      "scrypt, N=2^14, r=8, p=5, 16 MiB (Django's defaults; one of OWASP's equivalent settings)"),
}
SAMPLES = {"pbkdf2-django": 8, "pbkdf2-owasp": 8, "argon2-django": 8, "argon2-owasp": 30, "scrypt-django": 20}


def _setup_django() -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_TZ=True)


def make_hasher(name: str):
    """An instance of the hasher with the named parameters."""
    import importlib

    _setup_django()
    path, params, _ = HASHERS[name]
    module, cls = path.rsplit(".", 1)
    base = getattr(importlib.import_module(module), cls)
    return type(f"Bench{cls}", (base,), dict(params))()


_worker_hasher = None


def _init_worker(name: str) -> None:
    global _worker_hasher
    _worker_hasher = make_hasher(name)
    _worker_hasher.encode("warm-up password", _worker_hasher.salt())


def _hash_one(password: str) -> int:
    return len(_worker_hasher.encode(password, _worker_hasher.salt()))


def seconds_per_hash(name: str, samples: int) -> float:
    """Median seconds of one hash in this process."""
    hasher = make_hasher(name)
    hasher.encode("warm-up password", hasher.salt())
    times = []
    for n in range(samples):
        started = time.perf_counter()
        hasher.encode(f"Imported-Passw0rd-{n}", hasher.salt())
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def pool_rate(name: str, processes: int, hashes: int) -> float:
    """Hashes per second of a pool of `processes` workers, started and warmed up before the clock starts."""
    with multiprocessing.get_context("fork").Pool(processes, initializer=_init_worker, initargs=(name,)) as pool:
        pool.map(_hash_one, [f"warm-{n}" for n in range(processes)], chunksize=1)
        started = time.perf_counter()
        done = sum(1 for _ in pool.imap_unordered(_hash_one, (f"Imported-Passw0rd-{n}" for n in range(hashes)), chunksize=1))
        seconds = time.perf_counter() - started
    return done / seconds


def paired_medians(names: list[str], rounds: int = 8) -> dict[str, float]:
    """Median seconds a hash, the hashers taking turns, so a shared machine's load weighs on each alike."""
    hashers = {name: make_hasher(name) for name in names}
    times = {name: [] for name in names}
    for n in range(rounds):
        for name, hasher in hashers.items():
            started = time.perf_counter()
            hasher.encode(f"Imported-Passw0rd-{n}", hasher.salt())
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(t) for name, t in times.items()}


def _fmt_duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hashes", type=int, default=240, help="Hashes per pool size (a few hundred).")
    parser.add_argument("--processes", default="1,2,8")
    parser.add_argument("--hashers", default=",".join(HASHERS), help=f"Any of {', '.join(HASHERS)}.")
    parser.add_argument("--pool-hashers", default=None, help="Hashers measured with pools (default: all).")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    names = args.hashers.split(",")
    pool_names = args.pool_hashers.split(",") if args.pool_hashers else names
    counts = [int(p) for p in args.processes.split(",")]
    cores = os.cpu_count() or 1
    results = {}
    for name in names:
        load_before = os.getloadavg()[0]
        single = seconds_per_hash(name, SAMPLES[name])
        rates = {p: pool_rate(name, p, args.hashes) for p in counts} if name in pool_names else {}
        results[name] = {"what": HASHERS[name][2], "seconds_per_hash": single, "pool_hashes": args.hashes,
                         "hashes_per_s": rates, "load_before": load_before, "load_after": os.getloadavg()[0]}
        print(f"{name}: {single * 1000:.0f} ms a hash; " + ", ".join(f"{p} proc {r:.1f}/s" for p, r in rates.items()),
              flush=True)

    paired = paired_medians([n for n in names if n in SAMPLES and n != "argon2-django"])
    print("Taking turns (ms a hash): " + ", ".join(f"{n} {t * 1000:.0f}" for n, t in paired.items()), flush=True)
    reference = results.get("pbkdf2-django", {}).get("seconds_per_hash")
    header = ["hasher", "ms / hash", "× cheaper than Django's default"]
    header += [f"100k, {p} proc (measured rate)" for p in counts] + ["100k, 8 dedicated cores (extrapolated)"]
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for name, r in results.items():
        cells = [f"{name}: {r['what']}", f"{r['seconds_per_hash'] * 1000:,.0f}",
                 f"{reference / r['seconds_per_hash']:.1f}" if reference else "—"]
        cells += [_fmt_duration(PASSWORDS / r["hashes_per_s"][p]) if p in r["hashes_per_s"] else "—" for p in counts]
        cells.append(_fmt_duration(PASSWORDS * r["seconds_per_hash"] / 8))
        print("| " + " | ".join(cells) + " |")
    from importlib.metadata import version

    document = {"cores": cores, "python": platform.python_version(), "machine": platform.machine(),
                "django": version("Django"), "argon2_cffi": version("argon2-cffi"), "results": results,
                "taking_turns_seconds_per_hash": paired}
    if args.json:
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"\nWrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
