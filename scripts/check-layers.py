#!/usr/bin/env python3
"""make lint: every module imports only modules of lower layers (or the leaf ArcaAPI), as README's
architecture section draws them; checked on the `import` lines of Sources/ and on Package.swift's
target dependencies. `--table` prints the dependency table README shows."""
import os, re, sys

# Bottom up. A module may depend on modules of a lower layer only; ArcaAPI (wire types, no
# dependencies) may be imported from any layer above the system layer.
LAYERS = [
    ["CHwloc", "CNUMA", "COpenCL", "COpenSSL", "ArcaAPI"],
    ["ArcaSystem"],
    ["ArcaTopology", "ArcaOpenCL", "ArcaCrypto"],
    ["ArcaMath", "ArcaExecutors"],
    ["ArcaAccel"],
    ["ArcaAudit"],
    ["ArcaStore"],
    ["ArcaRuntime"],
    ["ArcaParty", "ArcaHE"],
    ["ArcaPSI", "ArcaIV"],
    ["ArcaJobKinds"],
    ["ArcaServer"],
    ["arcad", "arcactl", "arca-bench"],
]
LEAVES = {"ArcaAPI", "ArcaMath", "ArcaSystem"}
level = {name: i for i, layer in enumerate(LAYERS) for name in layer}
ours = set(level)

package = open("Package.swift").read()
declared = {}
starts = [m for m in re.finditer(r'\.(target|executableTarget|testTarget|systemLibrary)\(\s*name: "([^"]+)"', package)]
for index, match in enumerate(starts):
    if match.group(1) not in ("target", "executableTarget"):
        continue
    end = starts[index + 1].start() if index + 1 < len(starts) else len(package)
    body = package[match.end():end]
    deps = []
    at = body.find("dependencies: [")
    if at >= 0:
        depth, i = 0, at + len("dependencies: ")
        while i < len(body):
            depth += body[i] == "["
            depth -= body[i] == "]"
            i += 1
            if depth == 0:
                break
        deps = [d for d in re.findall(r'"([^"]+)"', re.sub(r'\.product\([^)]*\)', "", body[at:i])) if d in ours]
    declared[match.group(2)] = deps

problems = []
for name, deps in declared.items():
    if name not in level:
        problems.append(f"Package.swift: {name} is in no layer of scripts/check-layers.py")
        continue
    if name in ("ArcaAPI", "ArcaSystem", "ArcaMath") and deps:
        problems.append(f"Package.swift: {name} must have no dependencies, has {deps}")
    for dep in deps:
        if level[dep] >= level[name]:
            problems.append(f"Package.swift: {name} (layer {level[name]}) depends on {dep} (layer {level[dep]})")

for name in sorted(os.listdir("Sources")):
    directory = os.path.join("Sources", name)
    for root, _, files in os.walk(directory):
        for file in files:
            if not file.endswith(".swift"):
                continue
            path = os.path.join(root, file)
            for number, line in enumerate(open(path, encoding="utf-8"), 1):
                match = re.match(r"\s*(?:@testable\s+)?import\s+(\w+)", line)
                if match and match.group(1) in ours:
                    dep = match.group(1)
                    if dep == name:
                        continue
                    if level[dep] >= level[name]:
                        problems.append(f"{path}:{number}: {name} (layer {level[name]}) imports {dep} (layer {level[dep]})")
                    elif dep not in declared.get(name, []):
                        problems.append(f"{path}:{number}: {name} imports {dep}, which Package.swift does not declare")

if "--table" in sys.argv:
    print("| module | layer | depends on (Arca modules) |\n| --- | --- | --- |")
    for layer, names in enumerate(LAYERS):
        for name in names:
            if name in declared:
                print(f"| `{name}` | {layer} | {', '.join(declared[name]) or '—'} |")
for problem in problems:
    print(problem)
if problems:
    print(f"make lint: {len(problems)} dependency arrow(s) point up or sideways")
    sys.exit(1)
