"""Redis glob matching (``PSUBSCRIBE`` / ``KEYS`` syntax), byte for byte.

A port of Redis's ``stringmatchlen`` (``src/util.c``): ``*``, ``?``,
``[abc]``, ``[^a-z]``, and ``\\`` escapes, with Redis's own quirks (an
unterminated ``[`` class, ``[z-a]`` ranges). The sidecar needs to know which
subscriptions of a subscriber a channel matches (to deliver a message once per
subscription, and to count local receivers at publish time); it must agree
with Redis exactly, so it does what Redis does rather than what ``fnmatch``
does.
"""

from __future__ import annotations

__all__ = ["escape", "glob_match"]

_STAR, _QUESTION, _OPEN, _CLOSE, _BACKSLASH, _CARET, _DASH = b"*?[]\\^-"
_SPECIAL = frozenset(b"*?[]\\")
# Redis gives up on pathological patterns past this recursion depth.
_MAX_NESTING = 1000


def escape(literal: bytes) -> bytes:
    """``literal`` as a pattern that matches exactly itself."""
    return b"".join(b"\\" + bytes([c]) if c in _SPECIAL else bytes([c]) for c in literal)


def glob_match(pattern: bytes, string: bytes) -> bool:
    """True if ``string`` matches ``pattern`` as Redis would match it."""
    skip_longer = [False]
    return _match(pattern, 0, string, 0, skip_longer, 0)


def _class_matches(pattern: bytes, p: int, char: int) -> tuple[bool, int]:
    """Match ``char`` against the class starting after ``[`` at ``p``.

    Returns (matched, index of the closing ``]`` or of the pattern's end).
    """
    end = len(pattern)
    negate = p < end and pattern[p] == _CARET
    if negate:
        p += 1
    matched = False
    while True:
        if p < end and pattern[p] == _BACKSLASH and end - p >= 2:
            p += 1
            if pattern[p] == char:
                matched = True
        elif p < end and pattern[p] == _CLOSE:
            break
        elif p >= end:
            # Unterminated class: Redis treats the end of the pattern as its end.
            p = end - 1
            break
        elif end - p >= 3 and pattern[p + 1] == _DASH:
            low, high = sorted((pattern[p], pattern[p + 2]))
            p += 2
            if low <= char <= high:
                matched = True
        elif pattern[p] == char:
            matched = True
        p += 1
    return matched != negate, p


def _match(  # noqa: PLR0911, PLR0912, PLR0917  (kept in the shape of Redis's C, to stay checkable against it)
    pattern: bytes, p: int, string: bytes, s: int, skip_longer: list[bool], nesting: int
) -> bool:
    if nesting > _MAX_NESTING:
        return False
    plen, slen = len(pattern), len(string)
    while p < plen and s < slen:
        c = pattern[p]
        if c == _STAR:
            while p + 1 < plen and pattern[p + 1] == _STAR:
                p += 1
            if p + 1 == plen:
                return True
            while s < slen:
                if _match(pattern, p + 1, string, s, skip_longer, nesting + 1):
                    return True
                if skip_longer[0]:
                    return False
                s += 1
            # Nothing after this star matched from anywhere on: a longer match
            # for an earlier star cannot help either (Redis's own shortcut).
            skip_longer[0] = True
            return False
        if c == _QUESTION:
            s += 1
        elif c == _OPEN:
            matched, p = _class_matches(pattern, p + 1, string[s])
            if not matched:
                return False
            s += 1
        else:
            if c == _BACKSLASH and plen - p >= 2:
                p += 1
            if pattern[p] != string[s]:
                return False
            s += 1
        p += 1
        if s == slen:
            while p < plen and pattern[p] == _STAR:
                p += 1
            break
    return p == plen and s == slen
