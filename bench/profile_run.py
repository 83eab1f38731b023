"""Where a fresh import's time goes: the wizard's validation and the worker's run, each under py-spy.

    .venv/bin/pip install py-spy
    .venv/bin/python bench/profile_run.py --database-url postgres://postgres@127.0.0.1:5432/classworks_bench_reuse \
        --rows 100000 --work-dir /tmp/classworks_bench_reuse

Uses a database `bin/bench` left (its other districts' users stay); adds a district of its own
(`profile-<rows>-<n>`), so it can run again. py-spy samples with --idle, so time spent waiting on
PostgreSQL counts. Prints the top functions by own and by total time for each of the two parts.
"""
import argparse
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import import_bench as ib  # noqa: E402


def summarise(raw: Path, top: int) -> str:
    """py-spy's collapsed stacks as the functions with the most samples: own (leaf) and total (anywhere on the stack)."""
    own, total, samples = collections.Counter(), collections.Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        samples += n
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")" for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    lines = [f"{samples} samples"]
    for title, counter in (("own", own), ("total", total)):
        lines.append(f"-- by {title} time")
        lines += [f"{100 * n / samples:5.1f}%  {name}" for name, n in counter.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/classworks_bench_reuse"))
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    env = ib.child_environment(args.database_url, args.work_dir)
    ib.setup_django(env)
    out = args.work_dir / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"users-{args.rows}.csv"
    ib.write_csv(path, ib.base_rows(args.rows, 42))
    district = ib.create_bench_district(f"profile-{args.rows}-{int(time.time())}")

    # The wizard's validation, in this process: py-spy attaches to it.
    spy = subprocess.Popen([str(ROOT / ".venv/bin/py-spy"), "record", "--idle", "-r", "50", "-f", "raw",
                            "-o", str(out / "wizard.raw"), "--pid", str(__import__("os").getpid())],
                           stdout=subprocess.DEVNULL, stderr=open(out / "wizard.log", "w"))
    time.sleep(1.5)
    job_id, wizard_s = ib.prepare_job(district, path)
    spy.send_signal(__import__("signal").SIGINT)  # py-spy writes its file on an interrupt
    spy.wait()
    print(f"wizard's validation: {wizard_s:.2f} s")
    print(summarise(out / "wizard.raw", args.top))

    command = [str(ROOT / ".venv/bin/py-spy"), "record", "--idle", "-r", "50", "-f", "raw", "-o", str(out / "worker.raw"),
               "--", sys.executable, str(ROOT / "bench/import_bench.py"), "--child", "run_job",
               "--child-args", json.dumps({"job_id": job_id})]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    report = [line for line in done.stdout.splitlines() if line.startswith(ib.RESULT_MARKER)][-1]
    figures = json.loads(report[len(ib.RESULT_MARKER):])
    print(f"worker: {figures['wall_s']:.2f} s, peak RSS {figures['peak_rss_mb']:.0f} MB (sampled: slower than unsampled)")
    print(summarise(out / "worker.raw", args.top))


if __name__ == "__main__":
    main()
