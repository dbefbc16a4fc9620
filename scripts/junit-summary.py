#!/usr/bin/python3
"""Sums the JUnit XML reports of the test runners and prints the closing line
"N passed, N failed" (", N skipped" follows when some were skipped).

    junit-summary.py NAME RC REPORT [NAME RC REPORT ...]

NAME is the runner (ctest, pytest), RC its exit status and REPORT its JUnit XML file.
- ctest marks a failure (also a crash or timeout) with <failure> and status="fail", a test that
  exited with its SKIP_RETURN_CODE with <skipped> and status="notrun", a disabled one with
  status="disabled"; pytest uses <failure>, <error> and <skipped>. Errors count as failures.
- A missing or unreadable report counts as one failure, and so does a runner that exited non-zero
  although its report shows no failure (an internal error, an interrupted run); pytest's status 5
  (no tests collected) is not an error.
Exits 1 when anything failed or when no test passed at all."""
import sys
import xml.etree.ElementTree as ET

OK_STATUS = {"pytest": {0, 5}}


def count(path):
    passed = failed = skipped = 0
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        status = case.get("status", "")
        if "failure" in tags or "error" in tags or status in ("fail", "failed"):
            failed += 1
        elif "skipped" in tags or status in ("notrun", "disabled", "skipped"):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main(argv):
    if len(argv) % 3 != 0 or not argv:
        print(__doc__, file=sys.stderr)
        return 2
    passed = failed = skipped = 0
    for i in range(0, len(argv), 3):
        name, rc, path = argv[i], int(argv[i + 1]), argv[i + 2]
        try:
            p, f, s = count(path)
        except (OSError, ET.ParseError) as e:
            print(f"junit-summary: {name} (exit status {rc}) left no readable report: {e}",
                  file=sys.stderr)
            failed += 1
            continue
        if rc not in OK_STATUS.get(name, {0}) and f == 0:
            print(f"junit-summary: {name} exited with status {rc} but its report shows no "
                  "failed test; counted as one failure", file=sys.stderr)
            f = 1
        passed, failed, skipped = passed + p, failed + f, skipped + s
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    sys.stdout.flush()
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
