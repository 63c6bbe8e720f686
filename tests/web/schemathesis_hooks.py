"""Schemathesis hooks for the contract test (``SCHEMATHESIS_HOOKS=tests.web.schemathesis_hooks``).

A request the schema allows may be refused only for a rule the document states in words: an
operation's ``x-checked-fields`` lists the body fields checked against stored records, the
configuration or each other (a visit whose cover holds the entry, a configured camera, a check-out
after the check-in). A 422 naming only such fields is that rule, not a broken contract; any other
refusal of valid data still fails, as schemathesis's own ``positive_data_acceptance`` decides.
"""

from __future__ import annotations

import json

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance


@schemathesis.check
def positive_data_acceptance_but_stated_rules(ctx, response, case):
    checked = set(case.operation.definition.raw.get("x-checked-fields", ()))
    if response.status_code == 422 and checked:
        try:
            # "plates.0" is an item of plates, as the API names a nested input
            fields = {name.split(".")[0] for name in json.loads(response.content).get("fields") or {}}
        except ValueError:
            fields = set()
        if fields and fields <= checked:
            return None
    return positive_data_acceptance(ctx, response, case)
