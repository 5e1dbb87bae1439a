"""Failed signings are counted per account in a stream of their own: its id must fit the
event store's stream ids for any login the provider may issue (Keycloak: up to 255)."""

from __future__ import annotations

from v2v_runtime.db.tables import events, streams
from v2v_runtime.signatures.model import STREAM_ID_MAX, SignatureRequest, refusals_stream


def test_the_refusals_stream_of_any_accepted_login_fits_the_store() -> None:
    assert streams.c.stream_id.type.length == events.c.stream_id.type.length == STREAM_ID_MAX
    longest = SignatureRequest.model_fields["username"].metadata
    limit = next(m.max_length for m in longest if hasattr(m, "max_length"))
    assert limit == 255
    for length in (1, 191, 192, 193, limit, 400):  # 400: a session's own login (one component)
        login = "u" * length
        stream = refusals_stream(login)
        assert len(stream) <= STREAM_ID_MAX, length
        assert refusals_stream(login.upper()) == stream  # logins are case-insensitive
    assert refusals_stream("Quinn") == "signing-quinn"  # short logins stay readable
    assert refusals_stream("u" * 193) != refusals_stream("u" * 194)
