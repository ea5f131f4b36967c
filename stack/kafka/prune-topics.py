"""Deletes the scratch topics of earlier test and benchmark runs (names starting with `hp_`
or `hp-`) from the local broker.

Every test makes its own topics, thousands of partitions a run, and each partition keeps
files open: a broker that outgrows its open-file limit stops. Usage: prune-topics.py BROKERS
"""

import re
import sys

from confluent_kafka.admin import AdminClient

SCRATCH = re.compile(r"hp[_-]")
BATCH = 500


def main() -> int:
    admin = AdminClient({"bootstrap.servers": sys.argv[1]})
    names = sorted(t for t in admin.list_topics(timeout=30).topics if SCRATCH.match(t))
    failed = 0
    for i in range(0, len(names), BATCH):
        futures = admin.delete_topics(names[i : i + BATCH], operation_timeout=120)
        for name, future in futures.items():
            try:
                future.result()
            except Exception as e:  # a topic deleted meanwhile, or a broker error
                failed += 1
                print(f"prune: {name}: {e}", file=sys.stderr)
    print(len(names) - failed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
