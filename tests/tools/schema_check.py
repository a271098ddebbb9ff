#!/usr/bin/python3
"""schema_check: validates NDJSON records against ward's JSON Schemas.

    schema_check.py SCHEMA_DIR FILE...

Each record is checked against SCHEMA_DIR/<its "type">.schema.json
(draft 2020-12, with format checks); each schema is itself checked first.
Prints the count per type; exits 1 at the first invalid record (printed
with its first error) or a record whose type has no schema.
"""
import collections
import json
import os
import sys

import jsonschema


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip())
    d, validators, counts = sys.argv[1], {}, collections.Counter()
    for path in sys.argv[2:]:
        for n, line in enumerate(open(path), 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            t = rec.get("type")
            if t not in validators:
                f = os.path.join(d, "%s.schema.json" % t)
                if not os.path.exists(f):
                    print("%s:%d: no schema for type %r" % (path, n, t))
                    sys.exit(1)
                schema = json.load(open(f))
                jsonschema.Draft202012Validator.check_schema(schema)
                validators[t] = jsonschema.Draft202012Validator(
                    schema, format_checker=jsonschema.FormatChecker())
            errs = sorted(validators[t].iter_errors(rec), key=str)
            if errs:
                print("%s:%d: %s" % (path, n, line.strip()))
                print(errs[0])
                sys.exit(1)
            counts[t] += 1
    print("valid: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))


if __name__ == "__main__":
    main()
