"""Single-use invite codes a person copies from one LINE chat into another: a staff member's
(「KAIRAN-…」, broadcasts/staff/invites.py) and a family's
(「KAZOKU-…」, broadcasts/households/families.py).

The random part is Crockford's base 32 (no I, L, O, U), printed in groups of four after the
prefix; it is read back in any width or case, with or without separators, and the letters
people confuse with digits mean those digits. Only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from broadcasts.core.text import typed_code

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})


@dataclass(frozen=True)
class InviteCode:
    prefix: str
    length: int  # random characters: 5 bits each

    def issue(self) -> tuple[str, str]:
        """A new code as it is shown, and the hash to store."""
        body = "".join(secrets.choice(ALPHABET) for _ in range(self.length))
        groups = "-".join(body[i : i + 4] for i in range(0, self.length, 4))
        return f"{self.prefix}-{groups}", code_hash(body)

    def typed(self, text: str) -> str | None:
        """The random part if `text` is one of these codes (right or wrong), else None. Any
        length after the prefix counts: a code missing a letter is a wrong code, not chat."""
        body = typed_code(text, self.prefix)
        return None if body is None else body.translate(_CONFUSABLE)


def code_hash(body: str) -> str:
    return hashlib.sha256(body.encode("ascii", "replace")).hexdigest()
