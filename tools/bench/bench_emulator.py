"""How fast the local Azure emulator starts, resets and stops (`make bench`).

Timed here, not in tests (a loaded CI machine would make a timing assertion
flaky). Each figure is the median of a few runs and is printed against a
baseline measured in the same run:

* start with Azurite   vs  start without it (our own HTTPS servers, CA, keys)
* reset()              vs  state(), a control round trip that changes nothing
* stop with Azurite    vs  stop without it
"""

import statistics
import time

from azure_emulator.testing import start_emulator

RUNS = 5


def timed(func):
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


def start_stop(azurite):
    start, handle = timed(lambda: start_emulator(azurite=azurite))
    reset = state = None
    if azurite:
        handle.control.add_user(email="bench@sandbox.onmicrosoft.test")
        reset, _ = timed(handle.control.reset)
        state, _ = timed(handle.control.state)
    stop, _ = timed(handle.stop)
    return start, stop, reset, state


def main():
    start_emulator(azurite=False).stop()  # imports and first-use costs out of the figures
    bare = [start_stop(False) for _ in range(RUNS)]
    full = [start_stop(True) for _ in range(RUNS)]

    def med(rows, index):
        return statistics.median(row[index] for row in rows)

    lines = [
        ("start (with Azurite)", med(full, 0), "start without Azurite", med(bare, 0)),
        ("reset()", med(full, 2), "state() round trip", med(full, 3)),
        ("stop (with Azurite)", med(full, 1), "stop without Azurite", med(bare, 1)),
    ]
    print("azure_emulator, median of %d runs" % RUNS)
    for name, value, base_name, base in lines:
        ratio = value / base
        print(f"  {name:<22} {value * 1000:8.1f} ms = {ratio:5.1f} x {base_name} ({base * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
