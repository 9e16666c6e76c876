#!/usr/bin/env python3
"""make lint: no line of a Swift source over 120 columns, counted both as code points (as an editor
does) and as UTF-8 bytes (as the house's own check does). Prints each as path:line: bytes and exits 1
when there is any."""
import os, sys
LIMIT = 120
long = []
for root in sys.argv[1:]:
    paths = [root] if os.path.isfile(root) else [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    for path in sorted(p for p in paths if p.endswith('.swift')):
        with open(path, encoding='utf-8') as file:
            for number, line in enumerate(file, 1):
                text = line.rstrip('\n')
                if max(len(text), len(text.encode('utf-8'))) > LIMIT:
                    long.append(f'{path}:{number}: {len(text.encode("utf-8"))} bytes')
for entry in long:
    print(entry)
if long:
    print(f'make lint: {len(long)} line(s) over {LIMIT} characters')
    sys.exit(1)
