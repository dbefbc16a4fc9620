#!/usr/bin/python3
"""Sums JUnit XML reports and prints the closing line "N passed, N failed".

Skipped tests are counted apart; errors count as failures. Exit status 1 when anything failed
or when no test ran at all."""
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"junit-summary: cannot read {path}: {e}", file=sys.stderr)
        failed += 1
        continue
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        status = case.get("status", "")
        if "failure" in tags or "error" in tags or status in ("fail", "failed"):
            failed += 1
        elif "skipped" in tags or status in ("notrun", "disabled", "skipped"):
            skipped += 1
        else:
            passed += 1

line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed or passed == 0 else 0)
