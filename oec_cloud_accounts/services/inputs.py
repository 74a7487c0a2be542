"""Bounds on what a message repeats of a person's input.

A validation message quotes what was refused so the user sees which value is
wrong; it goes to the browser and to the log. Input is not bounded by the
field (a 10 MB host name is a valid Char), so the message quotes at most
``QUOTE_LIMIT`` characters of it.
"""

QUOTE_LIMIT = 100


def shorten(value, limit=QUOTE_LIMIT):
    """``value`` as text on one line, cut to ``limit`` characters with an
    ellipsis, for a message or a log line (a newline or a control character
    would forge a log line of its own: they are escaped)."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    size = len(text)
    text = text[:limit]
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if size <= limit else "%s… (%d characters)" % (text, size)


def quote(value, limit=QUOTE_LIMIT):
    """``shorten(value)`` between quotes, as ``%r`` showed it."""
    return "'%s'" % shorten(value, limit)
