#!/usr/bin/env python3
"""Opens a SMART Health Link's file as a recipient's viewer would, with an outside JOSE
implementation (jwcrypto).

Usage: shl_open.py <shlink:/...> <compact JWE>
Decodes the link's payload (base64url JSON), checks its fields as the SMART Health Links
specification (STU1) states them, decrypts the JWE with the link's key (`alg: dir`,
`enc: A256GCM`) and prints the plaintext on stdout. Exits 1 with the reason on stderr when
anything is off. Run by tests/sharing.rs; installed by tests/clients/install.
"""

import base64
import json
import sys

from jwcrypto import jwe, jwk


def fail(reason: str) -> None:
    print(reason, file=sys.stderr)
    sys.exit(1)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main() -> None:
    if len(sys.argv) != 3:
        fail(__doc__)
    link, compact = sys.argv[1], sys.argv[2]
    if not link.startswith("shlink:/"):
        fail("not a shlink:/ link")
    payload = json.loads(b64url_decode(link[len("shlink:/"):]))
    for field in ("url", "key"):
        if not isinstance(payload.get(field), str):
            fail(f"the payload has no {field}")
    if len(payload["key"]) != 43:
        fail("the key is not 43 characters of base64url")
    if len(payload["url"]) > 128 + 100:
        fail("the url is too long")
    token = jwe.JWE()
    token.deserialize(compact, key=jwk.JWK(kty="oct", k=payload["key"]))
    header = json.loads(token.objects["protected"])
    if header.get("alg") != "dir" or header.get("enc") != "A256GCM":
        fail(f"unexpected JWE header {header}")
    sys.stdout.write(token.payload.decode("utf-8"))


if __name__ == "__main__":
    main()
