#!/usr/bin/env python3
"""Splits Swift source lines over LIMIT columns: comments at a word boundary, a trailing comment onto
the line above, a long string literal into a multi-line literal of backslash-joined lines (the same
string). Leaves lines it cannot split safely and prints them. Run after swift format, then format again."""
import sys, re
LIMIT = 120

def literal_spans(line):
    """Top-level "..." literal spans (start index of opening quote, index of closing quote), and
    for each, the positions inside it that are at top level (not in an interpolation)."""
    spans = []
    i = 0; n = len(line)
    while i < n:
        c = line[i]
        if line.startswith('//', i): break
        if c == '#' and i + 1 < n and line[i+1] == '"': return None  # raw string: leave
        if c == '"':
            if line.startswith('"""', i): return None
            start = i; i += 1; top = []; depth = 0
            while i < n:
                c = line[i]
                if depth == 0:
                    if c == '\\' and i + 1 < n and line[i+1] == '(':
                        depth = 1; i += 2; continue
                    if c == '\\': i += 2; continue
                    if c == '"': break
                    top.append(i); i += 1; continue
                # inside interpolation: track parens and nested strings
                if c == '"':
                    i += 1
                    while i < n and line[i] != '"':
                        if line[i] == '\\': i += 1
                        i += 1
                    i += 1; continue
                if c == '(': depth += 1
                elif c == ')': depth -= 1
                i += 1
            if i >= n: return None
            spans.append((start, i, top)); i += 1; continue
        i += 1
    return spans

def split_code(line):
    """The first long top-level literal of `line` as a multi-line literal whose lines end in a
    backslash (joined without a newline): valid wherever a string literal is (String, Logger.Message,
    ArgumentHelp, Comment)."""
    indent = len(line) - len(line.lstrip(' '))
    spans = literal_spans(line)
    if not spans: return None
    inner = ' ' * (indent + 4)
    width = LIMIT - len(inner) - 2
    for start, end, top in spans:
        if end < LIMIT - 20 and start < LIMIT: continue
        if end - start < 40: continue
        content = line[start + 1:end]
        offset = start + 1
        tops = set(p - offset for p in top)
        chunks = []; begin = 0
        while len(content) - begin > width:
            cands = [p for p in range(begin + 10, min(begin + width, len(content) - 1)) if content[p] == ' ' and p in tops]
            if not cands: return None
            cut = max(cands) + 1
            chunks.append(content[begin:cut]); begin = cut
        chunks.append(content[begin:])
        if len(line[:start]) + 3 > LIMIT: return None
        if any(c.startswith(' ') for c in chunks[1:]): return None  # leading spaces would be indentation
        head = line[:start] + '"""'
        body = [inner + c + '\\' for c in chunks[:-1]] + [inner + chunks[-1]]
        tail = inner + '"""' + line[end + 1:]
        out = [head] + body + [tail]
        if len(tail) > LIMIT:
            rest = split_code(tail)
            if not rest: return None
            out = out[:-1] + rest
        return out
    return None

def split_comment(line):
    m = re.match(r'^(\s*)(///|//)( ?)(.*)$', line)
    if not m: return None
    prefix = m.group(1) + m.group(2) + m.group(3)
    text = m.group(4)
    words = text.split(' ')
    out = []; cur = ''
    for w in words:
        if cur and len(prefix) + len(cur) + 1 + len(w) > LIMIT:
            out.append(prefix + cur); cur = w
        else:
            cur = (cur + ' ' + w) if cur else w
    out.append(prefix + cur)
    if any(len(l) > LIMIT for l in out): return None
    return out

def move_trailing_comment(line):
    spans = literal_spans(line)
    if spans is None: return None
    end = spans[-1][1] if spans else -1
    k = line.find('  // ', end + 1)
    if k < 0: return None
    indent = len(line) - len(line.lstrip(' '))
    code = line[:k].rstrip()
    comment = split_comment(' ' * indent + '// ' + line[k + 5:])
    if not comment: return None
    rest = split_code(code) if len(code) > LIMIT else [code]
    return comment + rest if rest else None

def main(paths):
    left = []
    for path in paths:
        lines = open(path).read().split('\n')
        out = []
        changed = False
        for no, line in enumerate(lines, 1):
            if len(line) <= LIMIT:
                out.append(line); continue
            new = split_comment(line) if line.lstrip().startswith('//') else split_code(line)
            if not new:
                new = move_trailing_comment(line)
            if new and all(len(l) <= LIMIT for l in new):
                out.extend(new); changed = True
            else:
                out.append(line); left.append('%s:%d: %d' % (path, no, len(line)))
        if changed: open(path, 'w').write('\n'.join(out))
    for l in left: print(l)

main(sys.argv[1:])
