"""TokenVerifier against tokens forged locally: each way a token can be wrong is refused with
its own reason; a good one maps to the Principal."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from v2v_runtime.auth import InvalidToken, ProviderUnavailable
from v2v_runtime.auth.testing import ISSUER, LocalIssuer, SigningKey, ec_key, rsa_key


@pytest.fixture
def idp() -> LocalIssuer:
    return LocalIssuer()


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _refused(idp: LocalIssuer, token: str, reason: str, **settings: object) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        await idp.verifier(**settings).verify(token)
    assert caught.value.reason == reason, caught.value.detail
    assert not token or token not in caught.value.detail
    return caught.value


async def test_valid_token_maps_to_the_principal(idp: LocalIssuer) -> None:
    token = idp.token(sub="user-1", auth_time=int(time.time()) - 60)
    principal = await idp.verifier().verify(token)
    assert principal.subject == "user-1"
    assert principal.username == "qa-reviewer"
    assert principal.name == "Quinn Avery"
    assert principal.roles == {"qa-reviewer"}
    assert principal.sites == {"manufacturing-site-1"}
    assert principal.issuer == ISSUER
    assert not principal.machine
    assert principal.client_id == "vein2vein-portal"
    assert principal.authenticated_at < principal.expires_at


async def test_audience_may_be_one_of_several(idp: LocalIssuer) -> None:
    token = idp.token(aud=["account", "vein2vein-api"])
    assert (await idp.verifier().verify(token)).roles == {"qa-reviewer"}


async def test_ec_keys_verify_too() -> None:
    idp = LocalIssuer(keys=[ec_key()])
    assert (await idp.verifier().verify(idp.token())).username == "qa-reviewer"


@pytest.mark.requirement("21CFR11.10(d)")
async def test_expired(idp: LocalIssuer) -> None:
    now = int(time.time())
    await _refused(idp, idp.token(iat=now - 600, exp=now - 120), "expired")


async def test_expiry_within_the_leeway_is_accepted(idp: LocalIssuer) -> None:
    now = int(time.time())
    token = idp.token(iat=now - 600, exp=now - 10)
    assert (await idp.verifier(leeway_s=30).verify(token)).username == "qa-reviewer"
    await _refused(idp, token, "expired", leeway_s=0)


async def test_not_yet_valid(idp: LocalIssuer) -> None:
    now = int(time.time())
    await _refused(idp, idp.token(nbf=now + 600), "not-yet-valid")
    await _refused(idp, idp.token(iat=now + 600, exp=now + 900), "not-yet-valid")


@pytest.mark.requirement("21CFR11.10(d)")
async def test_wrong_issuer(idp: LocalIssuer) -> None:
    await _refused(idp, idp.token(iss="https://evil.test/realms/vein2vein"), "wrong-issuer")


@pytest.mark.requirement("21CFR11.10(d)")
async def test_wrong_audience(idp: LocalIssuer) -> None:
    await _refused(idp, idp.token(aud="account"), "wrong-audience")


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "aud", "iss"])
async def test_required_claims(idp: LocalIssuer, claim: str) -> None:
    await _refused(idp, idp.token(**{claim: None}), "missing-claim")


@pytest.mark.requirement("21CFR11.10(d)")
async def test_tampered_payload(idp: LocalIssuer) -> None:
    header, _, signature = idp.token().split(".")
    forged = _b64({**idp.claims(), "realm_access": {"roles": ["qualified-person"]}})
    await _refused(idp, f"{header}.{forged}.{signature}", "bad-signature")


@pytest.mark.requirement("21CFR11.10(d)")
async def test_signed_by_another_key_with_our_kid(idp: LocalIssuer) -> None:
    impostor = rsa_key(kid=idp.keys[0].kid)
    await _refused(idp, idp.token(impostor), "bad-signature")


@pytest.mark.requirement("21CFR11.10(d)")
async def test_alg_none(idp: LocalIssuer) -> None:
    header = _b64({"alg": "none", "typ": "JWT", "kid": idp.keys[0].kid})
    await _refused(idp, f"{header}.{_b64(idp.claims())}.", "algorithm-not-allowed")


@pytest.mark.requirement("21CFR11.10(d)")
async def test_hmac_signed_with_the_public_key_is_refused(idp: LocalIssuer) -> None:
    """Key confusion: an HS256 'signature' keyed with the provider's public key (which
    anyone can fetch) must never verify."""
    public_pem = (
        idp.keys[0]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": idp.keys[0].kid})
    payload = _b64(idp.claims())
    signing_input = f"{header}.{payload}".encode()
    mac = jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256).sign(
        signing_input, public_pem
    )
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    await _refused(idp, f"{header}.{payload}.{signature}", "algorithm-not-allowed")


async def test_header_alg_must_match_the_keys_alg(idp: LocalIssuer) -> None:
    # Same RSA key, PS256 instead of the RS256 its JWK declares.
    key = idp.keys[0]
    token = idp.token(SigningKey(key.kid, "PS256", key.private))
    await _refused(idp, token, "algorithm-mismatch")


async def test_ec_curve_must_match_the_algorithm() -> None:
    p384 = SigningKey("k384", "ES256", ec.generate_private_key(ec.SECP384R1()))
    idp = LocalIssuer(keys=[p384])
    jwk = p384.public_jwk()
    del jwk["alg"]  # a JWK without alg: the key type and curve must still fit
    idp.jwks = lambda: {"keys": [jwk]}  # type: ignore[method-assign]
    header = _b64({"alg": "ES256", "kid": "k384"})
    await _refused(idp, f"{header}.{_b64(idp.claims())}.c2ln", "algorithm-mismatch")


async def test_algorithm_outside_the_configured_list(idp: LocalIssuer) -> None:
    await _refused(idp, idp.token(), "algorithm-not-allowed", algorithms="ES256")


async def test_no_kid(idp: LocalIssuer) -> None:
    token = jwt.encode(idp.claims(), idp.keys[0].private, algorithm="RS256")
    await _refused(idp, token, "no-key-id")


async def test_unknown_kid_refreshes_the_keys_once(idp: LocalIssuer) -> None:
    verifier = idp.verifier(jwks_refresh_min_interval_s=0)
    await verifier.verify(idp.token())
    assert idp.fetches == 1
    rotated = rsa_key()
    idp.keys.append(rotated)  # the provider rotates: a new key appears in its set
    assert (await verifier.verify(idp.token(rotated))).username == "qa-reviewer"
    assert idp.fetches == 2
    await verifier.verify(idp.token(rotated))
    assert idp.fetches == 2  # known now: no fetch


async def test_unknown_kids_cannot_hammer_the_provider(idp: LocalIssuer) -> None:
    verifier = idp.verifier(jwks_refresh_min_interval_s=60)
    await verifier.verify(idp.token())
    for _ in range(20):
        with pytest.raises(InvalidToken) as caught:
            await verifier.verify(idp.token(rsa_key()))
        assert caught.value.reason == "unknown-key"
    assert idp.fetches == 1  # refreshed at most once a minute, and it was just loaded


async def test_oversized(idp: LocalIssuer) -> None:
    token = idp.token(padding="x" * 20_000)
    await _refused(idp, token, "too-large")
    assert idp.fetches == 0  # refused before any key lookup


@pytest.mark.parametrize(
    "garbage",
    ["", "garbage", "a.b.c", "...", "eyJhbGciOiJSUzI1NiJ9.%%%.x", "Ünïcode.token.x"],
)
async def test_garbage(idp: LocalIssuer, garbage: str) -> None:
    await _refused(idp, garbage, "malformed")


async def test_malformed_claims_after_a_valid_signature(idp: LocalIssuer) -> None:
    await _refused(idp, idp.token(exp="tomorrow"), "malformed")
    await _refused(idp, idp.token(realm_access={"roles": {"qa": 1}}), "malformed-claim")
    await _refused(idp, idp.token(sites=[1, 2]), "malformed-claim")


async def test_provider_down_is_not_an_invalid_token(idp: LocalIssuer) -> None:
    async def down() -> dict[str, object]:
        raise ProviderUnavailable("https://idp.test could not be reached (ConnectError)")

    idp.fetch = down  # type: ignore[method-assign]
    with pytest.raises(ProviderUnavailable):
        await idp.verifier().verify(idp.token())
