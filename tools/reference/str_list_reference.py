"""Python's own str(list) and csv output for the data-reader parity test (reference only).

Reads {"rows": [[tokens, tags], ...]} (JSON, lone surrogates allowed) on stdin and writes
{"reprs": [str(tokens), ...], "csv": <text>, "cn": [code points in the input that this
Python's Unicode database leaves unassigned (category Cn)]}. The csv text is what pandas'
DataFrame({"tokens": ..., "tags": ...}).to_csv(index=False) writes: pandas stringifies list
cells with str() and hands them to the csv module with QUOTE_MINIMAL and "\n" line endings.
"""

import csv
import io
import json
import sys
import unicodedata

data = json.load(sys.stdin)
rows = data["rows"]
buf = io.StringIO()
writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
writer.writerow(["tokens", "tags"])
for tokens, tags in rows:
    writer.writerow([str(tokens), str(tags)])
cn = sorted(
    {
        ord(ch)
        for tokens, _ in rows
        for token in tokens
        for ch in token
        if unicodedata.category(ch) == "Cn"
    }
)
json.dump({"reprs": [str(t) for t, _ in rows], "csv": buf.getvalue(), "cn": cn}, sys.stdout)
