#!/usr/bin/env python3
"""Validates a FHIR R4 Bundle with an outside implementation, the fhir.resources models.

Reads one JSON Bundle from the file named as the only argument, or from stdin, and checks:

- the JSON itself: no duplicate keys, no NaN or Infinity (JSON has neither);
- the Bundle with fhir.resources.R4B (the package's default models are R5; R4B is the R4
  line), which checks every element's name, type, cardinality and choice-type exclusivity;
- each entry's resource again with its own model class;
- the rules of the FHIR core specification the models leave out: no empty arrays, objects
  or strings (JSON representation), the required code bindings of the codes healthpipe
  emits (Bundle.type, Observation.status), unique fullUrls (bdl-7), and an extension having
  a value or nested extensions but not both (ext-1).

Prints a one-line summary and exits 0 when valid; otherwise prints the error on stderr and
exits 1. Run by fhir/tests/validate.rs; installed by tests/clients/install.
"""

import json
import sys
from collections import Counter
from typing import Any, NoReturn

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

# http://hl7.org/fhir/R4/valueset-bundle-type.html (required binding)
BUNDLE_TYPES = {
    "document", "message", "transaction", "transaction-response", "batch",
    "batch-response", "history", "searchset", "collection",
}
# http://hl7.org/fhir/R4/valueset-observation-status.html (required binding)
OBSERVATION_STATUSES = {
    "registered", "preliminary", "final", "amended", "corrected", "cancelled",
    "entered-in-error", "unknown",
}


def fail(message: str) -> NoReturn:
    print(f"fhir_validate.py: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = Counter(key for key, _ in pairs)
    duplicated = [key for key, count in keys.items() if count > 1]
    if duplicated:
        raise ValueError(f"duplicate JSON keys {duplicated}")
    return dict(pairs)


def no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=no_duplicate_keys, parse_constant=no_constant)
    except ValueError as error:
        fail(f"not valid JSON: {error}")


def no_empty_values(value: Any, path: str) -> None:
    """FHIR JSON never has empty arrays, objects or strings."""
    if value in ([], {}, ""):
        fail(f"{path} is empty: FHIR JSON leaves out empty arrays, objects and strings")
    if isinstance(value, dict):
        for key, item in value.items():
            no_empty_values(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            no_empty_values(item, f"{path}[{index}]")


def extensions_have_one_kind_of_content(value: Any, path: str) -> None:
    """ext-1: an extension has either a value[x] or nested extensions, not both nor neither."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("extension", "modifierExtension"):
                for index, extension in enumerate(item):
                    has_value = any(k.startswith("value") for k in extension)
                    if has_value == ("extension" in extension):
                        fail(f"{path}.{key}[{index}] breaks ext-1 (value[x] xor extension)")
            extensions_have_one_kind_of_content(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            extensions_have_one_kind_of_content(item, f"{path}[{index}]")


def core_rules(bundle: dict[str, Any]) -> None:
    no_empty_values(bundle, "Bundle")
    extensions_have_one_kind_of_content(bundle, "Bundle")
    if bundle.get("type") not in BUNDLE_TYPES:
        fail(f"Bundle.type {bundle.get('type')!r} is not a bundle-type code")
    full_urls = Counter(entry.get("fullUrl") for entry in bundle.get("entry", []))
    repeated = [url for url, count in full_urls.items() if url is not None and count > 1]
    if repeated:
        fail(f"bdl-7: fullUrl repeated: {repeated}")
    for index, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource", {})
        status = resource.get("status")
        if resource.get("resourceType") == "Observation" and status not in OBSERVATION_STATUSES:
            fail(f"Bundle.entry[{index}].resource.status {status!r} is not an observation-status code")


def validate_models(bundle: dict[str, Any]) -> Counter:
    try:
        Bundle.model_validate(bundle)
    except Exception as error:  # pydantic's ValidationError, or a model's own ValueError
        fail(f"invalid R4B Bundle: {error}")
    kinds: Counter = Counter()
    for index, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            fail(f"Bundle.entry[{index}] has no resource")
        kind = resource.get("resourceType")
        try:
            get_fhir_model_class(kind).model_validate(resource)
        except Exception as error:
            fail(f"invalid R4B {kind} in Bundle.entry[{index}]: {error}")
        kinds[kind] += 1
    return kinds


def main() -> None:
    if len(sys.argv) > 2:
        fail("usage: fhir_validate.py [bundle.json]  (stdin when no file is given)")
    if len(sys.argv) == 2:
        with open(sys.argv[1], encoding="utf-8") as file:
            text = file.read()
    else:
        text = sys.stdin.read()
    bundle = parse(text)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        fail("the document is not a Bundle (resourceType must be \"Bundle\")")
    kinds = validate_models(bundle)
    core_rules(bundle)
    counts = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    print(f"valid FHIR R4B Bundle ({bundle['type']}): {sum(kinds.values())} entries: {counts or 'none'}")


if __name__ == "__main__":
    main()
